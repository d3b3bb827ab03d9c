#include "tools/testing/refuse_io_uring.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace ioreq::testing {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
#error "refuse_io_uring: add this architecture's AUDIT_ARCH_ value"
#endif

}  // namespace

absl::Status RefuseIoUring(int err) {
  if (err < 1 || err > SECCOMP_RET_DATA) {
    return absl::InvalidArgumentError(
        absl::StrCat("RefuseIoUring: errno ", err, " is not 1 to 4095"));
  }
  const uint32_t refuse = SECCOMP_RET_ERRNO | static_cast<uint32_t>(err);
  // A call of another architecture (a 32-bit one) is let through: its
  // numbers differ, and nothing here makes one.
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, refuse),
  };
  const sock_fprog prog{static_cast<unsigned short>(std::size(program)),
                        program};
  // Without privilege, a filter needs no_new_privs (seccomp(2)).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "RefuseIoUring: PR_SET_NO_NEW_PRIVS: ", std::strerror(errno)));
  }
  // TSYNC: the sanitizers' and the test framework's threads too.
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
              &prog) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "RefuseIoUring: seccomp(SECCOMP_SET_MODE_FILTER): ",
        std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ioreq::testing
