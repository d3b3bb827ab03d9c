#include "core/doorbell.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ioreq {

Doorbell::Doorbell() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) {
    std::fprintf(stderr, "ioreq: eventfd() failed: %s\n", std::strerror(errno));
    std::abort();
  }
}

Doorbell::~Doorbell() { close(fd_); }

void Doorbell::Ring() {
  __atomic_fetch_add(&rings_, 1, __ATOMIC_RELAXED);
  const uint64_t one = 1;
  // The counter saturates only after 2^64-2 unread rings; EAGAIN cannot
  // happen in practice and would still leave the waiter woken.
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void Doorbell::Wait() { WaitFor(absl::InfiniteDuration()); }

bool Doorbell::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    uint64_t count;
    if (read(fd_, &count, sizeof(count)) == sizeof(count)) return true;
    if (errno != EAGAIN && errno != EINTR) {
      std::fprintf(stderr, "ioreq: eventfd read failed: %s\n",
                   std::strerror(errno));
      std::abort();
    }
    int timeout_ms = -1;
    if (timeout != absl::InfiniteDuration()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    }
    pollfd pfd{fd_, POLLIN, 0};
    poll(&pfd, 1, timeout_ms);
  }
}

}  // namespace ioreq
