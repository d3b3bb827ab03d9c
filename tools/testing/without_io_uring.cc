// tools/testing/without_io_uring.cc: run a program on a kernel that refuses
// io_uring (tools/testing/refuse_io_uring.h).
//
//   without_io_uring [--errno=N] PROGRAM [ARG...]
//
// io_uring_setup, io_uring_enter and io_uring_register fail with errno N
// (default 1, EPERM, what `kernel.io_uring_disabled=2` and container
// runtimes' seccomp profiles answer) in PROGRAM and all it starts. Exits 2
// with one line on a bad argument, 1 where the filter cannot be installed
// or PROGRAM cannot be run; otherwise PROGRAM's exit status is its own.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "tools/testing/refuse_io_uring.h"

int main(int argc, char** argv) {
  int first = 1;
  int err = EPERM;
  if (argc > 1 && absl::StartsWith(argv[1], "--errno=")) {
    if (!absl::SimpleAtoi(argv[1] + std::strlen("--errno="), &err) ||
        err < 1 || err > 4095) {
      std::fprintf(stderr,
                   "without_io_uring: --errno=%s: accepts 1 to 4095\n",
                   argv[1] + std::strlen("--errno="));
      return 2;
    }
    first = 2;
  }
  if (first >= argc) {
    std::fprintf(stderr,
                 "without_io_uring: usage: without_io_uring [--errno=N] "
                 "PROGRAM [ARG...]\n");
    return 2;
  }
  if (absl::Status s = ioreq::testing::RefuseIoUring(err); !s.ok()) {
    std::fprintf(stderr, "without_io_uring: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  execvp(argv[first], argv + first);
  std::fprintf(stderr, "without_io_uring: cannot run %s: %s\n", argv[first],
               std::strerror(errno));
  return 1;
}
