#include "tools/testing/full_eventfd.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <future>

namespace ioreq::testing {

FullEventfd::FullEventfd() : fd_(eventfd(0, EFD_CLOEXEC)) {
  if (fd_ < 0) return;
  const uint64_t full = kFull;
  ok_ = write(fd_, &full, sizeof(full)) == static_cast<ssize_t>(sizeof(full));
}

FullEventfd::~FullEventfd() {
  if (fd_ >= 0) close(fd_);
}

bool FullEventfd::ReturnsWithoutWaiting(const std::function<void()>& call,
                                        absl::Duration limit) {
  std::future<void> done = std::async(std::launch::async, call);
  const auto wait = std::chrono::microseconds(absl::ToInt64Microseconds(limit));
  if (done.wait_for(wait) == std::future_status::ready) {
    done.get();
    return true;
  }
  Take();  // room: the waiting write completes
  done.get();
  return false;
}

uint64_t FullEventfd::Take() {
  pollfd readable{fd_, POLLIN, 0};
  if (poll(&readable, 1, /*timeout=*/0) != 1) return 0;
  uint64_t count = 0;
  return read(fd_, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

}  // namespace ioreq::testing
