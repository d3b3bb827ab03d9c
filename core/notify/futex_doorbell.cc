#include "core/notify/futex_doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace ioreq {
namespace notify_internal {

void FutexBackend::Wake(std::atomic<uint32_t>& word) {
  CountWakeCall();
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1,
          nullptr, nullptr, 0);
}

bool FutexBackend::Block(std::atomic<uint32_t>& word, absl::Time deadline) {
  timespec ts;
  timespec* timeout = nullptr;
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    ts = absl::ToTimespec(left);
    timeout = &ts;
  }
  // Sleeps only while the word still reads kSleeping: a ring that set kRung
  // after we published kSleeping makes this return at once.
  const long rc =
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word),
              FUTEX_WAIT_PRIVATE, kSleeping, timeout, nullptr, 0);
  return !(rc != 0 && errno == ETIMEDOUT);
}

}  // namespace notify_internal
}  // namespace ioreq
