#include "core/notify/adaptive_doorbell.h"

#include <unistd.h>

#include <algorithm>

namespace ioreq {
namespace {

std::atomic<int> g_waiter_threads{0};
std::atomic<int> g_sleeping{0};

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

int Cores() {
  static const int cores =
      static_cast<int>(std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN)));
  return cores;
}

// Counts the calling thread among the waiter threads until it exits.
void RegisterThisThread() {
  struct Registration {
    Registration() { g_waiter_threads.fetch_add(1, std::memory_order_relaxed); }
    ~Registration() { g_waiter_threads.fetch_sub(1, std::memory_order_relaxed); }
  };
  thread_local Registration registration;
}

}  // namespace

int AdaptiveDoorbell::WaiterThreads() {
  return g_waiter_threads.load(std::memory_order_relaxed);
}

int AdaptiveDoorbell::SleepingThreads() {
  return g_sleeping.load(std::memory_order_relaxed);
}

bool AdaptiveDoorbell::Spin(int64_t window_ns) {
  // Collapse: runnable waiters (this one included) beyond the cores.
  const int runnable = g_waiter_threads.load(std::memory_order_relaxed) -
                       g_sleeping.load(std::memory_order_relaxed);
  if (runnable > Cores()) return false;
  // Collapse: the notifier last ran on this CPU; spinning here would keep
  // it from running.
  if (last_ring_cpu_.load(std::memory_order_relaxed) == sched_getcpu()) {
    ++same_cpu_skips_;
    return false;
  }
  const int64_t end = NowNs() + window_ns;
  for (uint32_t i = 1;; ++i) {
    if (futex_.waiter_.Peek()) return true;
    notify_internal::CpuRelax();
    if ((i & 63) == 0 && NowNs() >= end) return false;
  }
}

bool AdaptiveDoorbell::WaitUntil(absl::Time deadline) {
  RegisterThisThread();
  if (futex_.waiter_.Consume()) return true;
  if (window_ns_ > 0 && Spin(window_ns_) && futex_.waiter_.Consume()) {
    return true;  // caught while spinning: the window was right
  }
  const int64_t start = NowNs();
  g_sleeping.fetch_add(1, std::memory_order_relaxed);
  const bool rung = futex_.waiter_.BlockUntilRung(deadline);
  g_sleeping.fetch_sub(1, std::memory_order_relaxed);
  const int64_t slept = NowNs() - start;
  if (rung && slept <= kMaxWindowNs) {
    window_ns_ = std::min(kMaxWindowNs, std::max(window_ns_ * 2, kGrowStartNs));
  } else {
    window_ns_ /= 2;
  }
  return rung;
}

}  // namespace ioreq
