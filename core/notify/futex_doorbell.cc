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

bool FutexBackend::Block(std::atomic<uint32_t>& word, absl::Duration timeout) {
  timespec ts;
  timespec* limit = nullptr;
  if (timeout != absl::InfiniteDuration()) {
    if (timeout <= absl::ZeroDuration()) return false;
    ts = absl::ToTimespec(timeout);  // FUTEX_WAIT's timeout is relative
    limit = &ts;
  }
  // Sleeps only while the word still reads kSleeping: a ring that set kRung
  // after we published kSleeping makes this return at once.
  const long rc =
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word),
              FUTEX_WAIT_PRIVATE, kSleeping, limit, nullptr, 0);
  return !(rc != 0 && errno == ETIMEDOUT);
}

}  // namespace notify_internal
}  // namespace ioreq
