#include "core/notify/eventfd_doorbell.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ioreq {
namespace notify_internal {

EventfdBackend::EventfdBackend() : fd_(eventfd(0, EFD_CLOEXEC)) {
  if (fd_ < 0) {
    std::fprintf(stderr, "ioreq: eventfd() failed: %s\n", std::strerror(errno));
    std::abort();
  }
}

EventfdBackend::~EventfdBackend() { close(fd_); }

void EventfdBackend::Wake(std::atomic<uint32_t>&) {
  CountWakeCall();
  const uint64_t one = 1;
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

bool EventfdBackend::Block(std::atomic<uint32_t>&, absl::Duration timeout) {
  uint64_t count;
  if (timeout == absl::InfiniteDuration()) {
    // The eventfd counter keeps a write that came before this read.
    while (read(fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    return true;
  }
  if (timeout <= absl::ZeroDuration()) return false;
  pollfd pfd{fd_, POLLIN, 0};
  const int ms = static_cast<int>(std::min<int64_t>(
                     absl::ToInt64Milliseconds(timeout), INT32_MAX - 1)) + 1;
  const int rc = poll(&pfd, 1, ms);
  if (rc == 0) return false;  // the timeout passed
  if (rc < 0) return true;    // a signal: an early return
  // Readable: this read does not block (the waiter is the only reader).
  return read(fd_, &count, sizeof(count)) == sizeof(count);
}

}  // namespace notify_internal
}  // namespace ioreq
