#include "core/notify/adaptive_doorbell.h"

#include <unistd.h>

#include <algorithm>

namespace ioreq {
namespace {

std::atomic<int> g_spinners{0};

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

}  // namespace

int AdaptiveDoorbell::SpinnerLimit() {
  static const int limit = [] {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return static_cast<int>(std::max<long>(1, cores - 1));
  }();
  return limit;
}

bool AdaptiveDoorbell::Spin(int64_t window_ns) {
  // Collapse: no spinning when as many waiters as may spin already do.
  if (g_spinners.fetch_add(1, std::memory_order_relaxed) >= SpinnerLimit()) {
    g_spinners.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  const int64_t end = NowNs() + window_ns;
  bool rung = false;
  for (uint32_t i = 1;; ++i) {
    if (futex_.waiter_.Peek()) {
      rung = true;
      break;
    }
    notify_internal::CpuRelax();
    if ((i & 63) == 0 && NowNs() >= end) break;
  }
  g_spinners.fetch_sub(1, std::memory_order_relaxed);
  return rung;
}

bool AdaptiveDoorbell::WaitUntil(absl::Time deadline) {
  if (futex_.waiter_.Consume()) return true;
  if (window_ns_ > 0 && Spin(window_ns_) && futex_.waiter_.Consume()) {
    return true;  // caught while spinning: the window was right
  }
  const int64_t start = NowNs();
  const bool rung = futex_.waiter_.BlockUntilRung(deadline);
  const int64_t slept = NowNs() - start;
  if (rung && slept <= kMaxWindowNs) {
    window_ns_ = std::min(kMaxWindowNs, std::max(window_ns_ * 2, kGrowStartNs));
  } else {
    window_ns_ /= 2;
  }
  return rung;
}

}  // namespace ioreq
