// core/notify/poll_for_ring.h: poll a doorbell for a while before sleeping
// on it.
//
// A thread that has just found work is likely to find more soon; polling
// for a short window before it sleeps turns the next ring into a load
// instead of a wake and a sleep (two system calls), the trade KVM's
// halt-polling makes for a vCPU. The HSM's own threads (the dispatcher and
// in-process clients) poll this way after a pass that found work when
// HsmOptions::service_poll is set; the vCPUs do not (AdaptiveDoorbell is
// the strategy that spins for them).
//
// While the poller polls, a ring costs the notifier one atomic RMW and no
// system call (the waiter has not published kSleeping,
// core/notify/internal/waiter_word.h), and the next Wait() consumes it at
// once.
//
// Example:
//   if (found_work) ioreq::PollForRing(bell, absl::Microseconds(20));
//   bell.Wait();  // no system call if the poll saw a ring
#ifndef IOREQ_CORE_NOTIFY_POLL_FOR_RING_H_
#define IOREQ_CORE_NOTIFY_POLL_FOR_RING_H_

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/internal/waiter_word.h"

namespace ioreq {

// True as soon as `bell` holds a ring not yet consumed; false once `window`
// passed without one (at once for a window <= 0). Reads the clock once
// every 64 polls.
template <typename Bell>
bool PollForRing(const Bell& bell, absl::Duration window) {
  if (bell.Peek()) return true;
  if (window <= absl::ZeroDuration()) return false;
  notify_internal::SendDeferredWakes();  // a poll carries no held wake
  const int64_t deadline_ns =
      absl::GetCurrentTimeNanos() + absl::ToInt64Nanoseconds(window);
  for (uint32_t polls = 1;; ++polls) {
    notify_internal::CpuRelax();
    if (bell.Peek()) return true;
    if ((polls & 63) == 0 && absl::GetCurrentTimeNanos() >= deadline_ns) {
      return false;
    }
  }
}

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_POLL_FOR_RING_H_
