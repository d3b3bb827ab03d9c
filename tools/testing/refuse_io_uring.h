// tools/testing/refuse_io_uring.h: make this process's kernel refuse
// io_uring, as a machine with `sysctl kernel.io_uring_disabled=2` (Linux
// 6.6+) or a container runtime's default seccomp profile does.
//
// A seccomp filter answers io_uring_setup, io_uring_enter and
// io_uring_register with `err` and lets every other system call through. It
// binds every thread of the process and everything it executes from then
// on, and cannot be lifted: call it in a child process (a death test, or
// the `without_io_uring` wrapper beside this file).
//
//   // in a child:
//   ASSERT_TRUE(RefuseIoUring(EPERM).ok());
//   // ioreq::CheckStrategySupported(Strategy::kUring) is now Unavailable.
#ifndef IOREQ_TOOLS_TESTING_REFUSE_IO_URING_H_
#define IOREQ_TOOLS_TESTING_REFUSE_IO_URING_H_

#include "absl/status/status.h"

namespace ioreq::testing {

// Installs the filter; `err` is the errno the three calls fail with (1 to
// 4095). Fails, changing nothing, where seccomp filters are unavailable.
absl::Status RefuseIoUring(int err);

}  // namespace ioreq::testing

#endif  // IOREQ_TOOLS_TESTING_REFUSE_IO_URING_H_
