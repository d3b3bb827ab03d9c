#include "core/notify/adaptive_doorbell.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

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

// The calling thread's place in g_waiter_threads: taken at its first wait
// (again after it left), given back when it leaves or exits. Relaxed: a
// count for a decision, not an ordering.
struct WaiterRegistration {
  bool counted = false;
  void Join() {
    if (counted) return;
    counted = true;
    g_waiter_threads.fetch_add(1, std::memory_order_relaxed);
  }
  void Leave() {
    if (!counted) return;
    counted = false;
    g_waiter_threads.fetch_sub(1, std::memory_order_relaxed);
  }
  ~WaiterRegistration() { Leave(); }
};
thread_local WaiterRegistration t_registration;

// The tasks runnable on the whole machine now (the 4th field of
// /proc/loadavg, "running/total": every process's, this thread included),
// read at most once per kRunnableRefreshNs by whichever waiter finds the
// reading stale; 0 where /proc is unreadable (then only this process's
// waiters count).
constexpr int64_t kRunnableRefreshNs = 1'000'000;
std::atomic<int64_t> g_runnable_read_at{0};
std::atomic<int> g_runnable{0};

int ReadRunnable() {
  static const int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  return AdaptiveDoorbell::RunnableInLoadavg(buf);
}

}  // namespace

int AdaptiveDoorbell::RunnableInLoadavg(const char* loadavg) {
  // "0.52 0.58 0.59 3/812 12345": the field after the third space.
  const char* p = loadavg;
  for (int spaces = 0; *p != '\0' && spaces < 3; ++p) spaces += *p == ' ';
  return std::atoi(p);
}

int AdaptiveDoorbell::SystemRunnable() { return SystemRunnableAt(NowNs()); }

int AdaptiveDoorbell::SystemRunnableAt(int64_t now) {
  // Relaxed: a hint; a stale or doubly-read value only moves a decision.
  if (now - g_runnable_read_at.load(std::memory_order_relaxed) > kRunnableRefreshNs) {
    g_runnable_read_at.store(now, std::memory_order_relaxed);
    g_runnable.store(ReadRunnable(), std::memory_order_relaxed);
  }
  return g_runnable.load(std::memory_order_relaxed);
}

int AdaptiveDoorbell::WaiterThreads() {
  return g_waiter_threads.load(std::memory_order_relaxed);
}

void AdaptiveDoorbell::LeaveWaiterThreads() { t_registration.Leave(); }

int AdaptiveDoorbell::SleepingThreads() {
  return g_sleeping.load(std::memory_order_relaxed);
}

namespace {

// Runnable waiters (this one included): those not counted asleep.
int RunnableWaiters() {
  return g_waiter_threads.load(std::memory_order_relaxed) -
         g_sleeping.load(std::memory_order_relaxed);
}

}  // namespace

void AdaptiveDoorbell::CountAwake() {
  // Relaxed: a count for a decision, not an ordering; the exchange makes
  // the decrement happen once per sleep.
  if (counted_asleep_.load(std::memory_order_relaxed) &&
      counted_asleep_.exchange(false, std::memory_order_relaxed)) {
    g_sleeping.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool AdaptiveDoorbell::Spin(int64_t window_ns) {
  // Collapse: the notifier last ran on this CPU; spinning here would keep
  // it from running. Asked first: it is the most specific signal, and the
  // counts below would hide it.
  if (last_ring_cpu_.load(std::memory_order_relaxed) == sched_getcpu()) {
    ++same_cpu_skips_;
    return false;
  }
  // Collapse: more runnable tasks than cores, so one waits for a CPU, and
  // spinning would keep it waiting: first this process's runnable waiters
  // (this one included), then every process's (the blindness the first
  // count has to other processes; KVM's halt-polling asks the kernel the
  // same: single_task_running()).
  // One clock read serves the window and the machine-wide count's age.
  const int64_t start = NowNs();
  if (CpusOversubscribed(RunnableWaiters(), SystemRunnableAt(start), Cores())) {
    ++busy_skips_;
    return false;
  }
  const int64_t end = start + window_ns;
  for (uint32_t i = 1;; ++i) {
    if (futex_.waiter_.Peek()) return true;
    notify_internal::CpuRelax();
    if ((i & 63) != 0) continue;
    const int64_t now = NowNs();
    if (now >= end) return false;
    // Asked again while spinning: a thread woken since the spin began may
    // be waiting for this core.
    if (CpusOversubscribed(RunnableWaiters(), SystemRunnableAt(now), Cores())) {
      ++busy_skips_;
      return false;
    }
  }
}

bool AdaptiveDoorbell::WaitFor(absl::Duration timeout) {
  t_registration.Join();
  if (futex_.waiter_.Consume()) return true;
  if (timeout <= absl::ZeroDuration()) return false;  // neither spin nor sleep
  notify_internal::SendDeferredWakes();  // a spin carries no held wake
  if (window_ns_ > 0 && Spin(window_ns_) && futex_.waiter_.Consume()) {
    return true;  // caught while spinning: the window was right
  }
  const int64_t start = NowNs();
  g_sleeping.fetch_add(1, std::memory_order_relaxed);
  counted_asleep_.store(true, std::memory_order_relaxed);  // after the count
  const bool rung = futex_.waiter_.BlockUntilRung(timeout);
  CountAwake();  // unless the ring already did
  const int64_t slept = NowNs() - start;
  if (rung && slept <= kMaxWindowNs) {
    window_ns_ = std::min(kMaxWindowNs, std::max(window_ns_ * 2, kGrowStartNs));
  } else {
    window_ns_ /= 2;
  }
  return rung;
}

}  // namespace ioreq
