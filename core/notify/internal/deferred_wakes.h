// core/notify/internal/deferred_wakes.h: the wakes a thread holds back
// while a WakeBatch (core/notify/wake_batch.h) is open on it.
//
// Only the `uring` strategy holds a wake back: its wake is a MSG_RING, and
// a thread that is about to sleep in its own io_uring can submit the
// messages it holds in the same io_uring_enter that sleeps (one system call
// for the wakes and the sleep). Every other way a thread can wait (a futex
// or eventfd sleep, a spin, a poll window) first sends what is held, so a
// held wake never waits on the thread that holds it.
//
// The state is per thread and touched only by its thread: no atomics. A held
// wake is only the target ring's file descriptor; the ring bit was already
// set on the waiter's word (core/notify/internal/waiter_word.h), so the
// target doorbell may be destroyed before the wake goes out: the message
// then fails (EBADF, reaped) or lands as a spurious wake on whatever ring
// took the number, which every waiter tolerates.
#ifndef IOREQ_CORE_NOTIFY_INTERNAL_DEFERRED_WAKES_H_
#define IOREQ_CORE_NOTIFY_INTERNAL_DEFERRED_WAKES_H_

#include <cstdint>

namespace ioreq {
namespace notify_internal {

struct DeferredWakes {
  // More than this many held: sent at once (a batch larger than any pass
  // of 16 slots and a few clients).
  static constexpr uint32_t kCapacity = 64;
  uint32_t depth = 0;  // open WakeBatch scopes on this thread
  // Open scopes that send a wake to a waiter that last slept on this
  // thread's CPU at once (WakeBatch::kOtherCpusOnly).
  uint32_t send_same_cpu = 0;
  uint32_t count = 0;  // wakes held
  int target_fds[kCapacity];
  // Sends what is held; set by the backend that held it back.
  void (*send)() = nullptr;
};

inline thread_local DeferredWakes t_deferred_wakes;

// Sends the wakes this thread holds, if any: before any wait that cannot
// carry them.
inline void SendDeferredWakes() {
  DeferredWakes& d = t_deferred_wakes;
  if (d.count != 0) d.send();
}

}  // namespace notify_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_INTERNAL_DEFERRED_WAKES_H_
