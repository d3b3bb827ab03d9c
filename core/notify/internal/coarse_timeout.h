// core/notify/internal/coarse_timeout.h: long timeouts served by one
// ticking thread, so that a timed sleep arms no kernel timer.
//
// Every sleep on the request path is timed: the [rescan] (a waiter looks
// again after 20 ms without a ring) and the vCPU's deadline. A timeout given
// to the kernel (FUTEX_WAIT's, poll()'s, io_uring's) arms and cancels an
// hrtimer on every sleep, and makes eventfd's sleep two calls (poll(), then
// read()); on the 2-core AMD EPYC VM that is about 0.25 µs a sleep, 11% of
// a round trip on one CPU (docs/performance.md, "Timeouts without a timer
// per sleep"). These timeouts need no precision, so a timeout of at least
// kCoarseMin is served instead by one process-wide thread that ticks every
// kCoarseTick: the sleeper writes the tick it is due at into its own entry
// and sleeps with no timeout; the ticker, at each tick, claims every entry
// that is due and fires it (the waiter word's kTimedOut, and a wake if the
// waiter sleeps). A coarse timeout ends at least `timeout` and at most
// `timeout` + 2 ticks (plus scheduling delay) after Arm().
//
// The ticker runs only while some waiter has an entry registered (from its
// first coarse timeout to its destruction), so a process without one has no
// extra thread.
//
// Example (what SuppressedWaiter in waiter_word.h does):
//   CoarseTimeout coarse(&FireMe, this);   // FireMe(this) runs on the ticker
//   coarse.Arm(absl::Milliseconds(20));    // before publishing kSleeping
//   ... sleep with no timeout ...
//   if (!coarse.Disarm()) { /* the ticker claimed it: FireMe runs or ran */ }
#ifndef IOREQ_CORE_NOTIFY_INTERNAL_COARSE_TIMEOUT_H_
#define IOREQ_CORE_NOTIFY_INTERNAL_COARSE_TIMEOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace ioreq {
namespace notify_internal {

inline constexpr absl::Duration kCoarseTick = absl::Milliseconds(5);
// Shorter timeouts go to the kernel: a tick would be too large a part.
inline constexpr absl::Duration kCoarseMin = absl::Milliseconds(20);

inline bool IsCoarse(absl::Duration timeout) {
  return timeout >= kCoarseMin && timeout != absl::InfiniteDuration();
}

// One waiter's entry with the ticker. Armed by one thread at a time (the
// waiter); not movable (the ticker holds its address).
class CoarseTimeout {
 public:
  using FireFn = void (*)(void* waiter);

  // `fire(waiter)` runs on the ticker's thread when an armed timeout is
  // due; it must not block.
  CoarseTimeout(FireFn fire, void* waiter) : fire_(fire), waiter_(waiter) {}
  // Unregisters; waits for a tick in progress, so `fire` never runs after.
  ~CoarseTimeout();
  CoarseTimeout(const CoarseTimeout&) = delete;
  CoarseTimeout& operator=(const CoarseTimeout&) = delete;

  // Arms the timeout (IsCoarse(timeout) must hold). The first Arm()
  // registers the entry (a mutex, once); later ones are two atomic accesses.
  void Arm(absl::Duration timeout);

  // Ends the armed timeout. True if it had not fired: the ticker will not
  // fire it. False if the ticker claimed it: `fire` runs or has run, once.
  bool Disarm() {
    // Acq_rel pairs with the ticker's compare-exchange in Tick(): exactly
    // one of the two takes the due tick.
    return due_tick_.exchange(0, std::memory_order_acq_rel) != 0;
  }

 private:
  friend class CoarseTicker;
  void Register();

  const FireFn fire_;
  void* const waiter_;
  // The tick at which the armed timeout fires; 0 when not armed.
  std::atomic<uint64_t> due_tick_{0};
  // Written once by the waiter (under the ticker's mutex); read by it and
  // by the destructor.
  std::atomic<bool> registered_{false};
  size_t index_ = 0;  // in the ticker's list; guarded by its mutex
};

// For tests: `hook` runs on the ticker's thread after it has claimed a due
// timeout and before it fires it (nullptr, the default: nothing runs), so
// that a test can land a ring in that window and hold the window open.
void SetBetweenClaimAndFireForTesting(void (*hook)());

}  // namespace notify_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_INTERNAL_COARSE_TIMEOUT_H_
