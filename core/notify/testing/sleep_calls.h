// SleepCall: the system call a doorbell's waiter sleeps in, for AwaitAsleep.
//
// A waiter with no timeout, or with one the coarse ticker serves (at least
// kCoarseMin, core/notify/internal/coarse_timeout.h), sleeps in one call; a
// waiter with a shorter timeout gives it to the kernel, and eventfd's then
// sleeps in poll() instead of read(). A spinning doorbell sleeps in none.
//
// Example:
//   ASSERT_TRUE(AwaitAsleep(tid, SleepCall(bell, Timed::kNo), absl::Seconds(10)));
#ifndef IOREQ_CORE_NOTIFY_TESTING_SLEEP_CALLS_H_
#define IOREQ_CORE_NOTIFY_TESTING_SLEEP_CALLS_H_

#include <sys/syscall.h>

#include "core/notify/adaptive_doorbell.h"
#include "core/notify/eventfd_doorbell.h"
#include "core/notify/futex_doorbell.h"
#include "core/notify/uring_doorbell.h"

namespace ioreq {

// kYes: a timeout under kCoarseMin, given to the kernel.
enum class Timed { kNo, kYes };

// -1 for a doorbell that never sleeps (spin).
template <typename Bell>
long SleepCall(const Bell&, Timed) {
  return -1;
}
inline long SleepCall(const EventfdDoorbell&, Timed timed) {
  return timed == Timed::kYes ? SYS_poll : SYS_read;
}
inline long SleepCall(const FutexDoorbell&, Timed) { return SYS_futex; }
inline long SleepCall(const AdaptiveDoorbell&, Timed) { return SYS_futex; }
inline long SleepCall(const UringDoorbell&, Timed) {
  return SYS_io_uring_enter;
}
inline long SleepCall(const UringEventfdDoorbell&, Timed) {
  return SYS_io_uring_enter;
}

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_TESTING_SLEEP_CALLS_H_
