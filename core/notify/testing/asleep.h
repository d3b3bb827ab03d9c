// AwaitAsleep: wait until a thread sleeps in a given system call.
//
// A test that counts a sleeper's system calls, or checks that a wake was
// held back, must ring only once the sleeper is asleep. A fixed pause ("it
// is asleep by now") is not enough on a loaded two-core machine, where the
// thread may not have run at all yet. The kernel says where a thread is
// blocked: /proc/self/task/TID/syscall names the call it sleeps in, and
// /proc/self/task/TID/stat says it is sleeping ('S') and not merely
// preempted inside the call.
//
// Example:
//
//   std::atomic<pid_t> tid{0};
//   std::thread waiter([&] {
//     tid.store(gettid());
//     bell.Wait();
//   });
//   ASSERT_TRUE(AwaitAsleep(tid, SYS_futex, absl::Seconds(10)));
//   bell.Ring();  // the waiter sleeps in FUTEX_WAIT: this wake is a call
//
//   std::vector<pid_t> dispatcher = ThreadsNamed("hsm-dispatcher");
#ifndef IOREQ_CORE_NOTIFY_TESTING_ASLEEP_H_
#define IOREQ_CORE_NOTIFY_TESTING_ASLEEP_H_

#include <sys/types.h>

#include <atomic>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ioreq {

// True once thread `tid` (of this process; 0 while the thread has not
// stored its id yet) sleeps in system call `syscall_nr`; false if that has
// not happened within `timeout`.
bool AwaitAsleep(const std::atomic<pid_t>& tid, long syscall_nr,
                 absl::Duration timeout);
bool AwaitAsleep(pid_t tid, long syscall_nr, absl::Duration timeout);

// The threads of this process named `name` (pthread_setname_np(), at most
// 15 characters), for a thread a test did not start: the HSM's dispatcher
// ("hsm-dispatcher"), its clients ("hsm-client"). A thread joined a moment
// ago may still be listed while the kernel finishes its exit.
std::vector<pid_t> ThreadsNamed(absl::string_view name);

// The threads of this process whose name starts with `prefix`: the kernel's
// own threads in the process, named after another thread's id (an SQPOLL
// ring's poller is "iou-sqp-<tid of the thread that set the ring up>").
std::vector<pid_t> ThreadsNamedStartingWith(absl::string_view prefix);

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_TESTING_ASLEEP_H_
