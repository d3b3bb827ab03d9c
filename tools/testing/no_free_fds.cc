#include "tools/testing/no_free_fds.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ioreq::testing {

namespace {
constexpr rlim_t kLimit = 64;
}  // namespace

NoFreeFds::NoFreeFds() {
  if (getrlimit(RLIMIT_NOFILE, &old_) != 0) return;
  rlimit low = old_;
  low.rlim_cur = std::min(old_.rlim_cur, kLimit);
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) return;
  lowered_ = true;
  for (;;) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ok_ = errno == EMFILE;
      return;
    }
    taken_.push_back(fd);
  }
}

NoFreeFds::~NoFreeFds() {
  for (int fd : taken_) close(fd);
  if (lowered_) setrlimit(RLIMIT_NOFILE, &old_);
}

}  // namespace ioreq::testing
