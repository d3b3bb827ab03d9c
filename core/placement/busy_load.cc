#include "core/placement/busy_load.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cerrno>
#include <unistd.h>

namespace ioreq {

BusyLoad::BusyLoad(int processes) {
  const pid_t parent = getpid();
  for (int i = 0; i < processes; ++i) {
    const pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      // The child: async-signal-safe calls only (the parent may have
      // threads). Dies with its parent; otherwise spins until killed.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      volatile unsigned long sink = 0;
      for (;;) sink = sink + 1;
    }
    children_.push_back(pid);
  }
}

BusyLoad::~BusyLoad() {
  for (pid_t pid : children_) kill(pid, SIGKILL);
  for (pid_t pid : children_) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace ioreq
