// core/notify/wake_batch.h: hold this thread's wakes back and send them with
// its next sleep, in one system call.
//
// A thread that wakes others and then goes to sleep itself (a vCPU that
// upcalls, then waits for its completion; a client that completes a pass of
// requests, then waits for more) makes two system calls where one would do.
// While a WakeBatch is open, the `uring` strategy's wakes (MSG_RINGs) are
// held; the thread's next sleep on a `uring` doorbell submits them in the
// io_uring_enter that sleeps (counted as one sleep call and, in
// SyscallTally::carried, as a sleep that carried wakes). Any other wait
// (another strategy's sleep, a spin, a poll window) sends them first, and so
// do Flush() and the outermost batch's end. Other strategies' wakes are
// never held. Batches nest; a held wake goes out no later than the
// outermost end. A batch opened with kOtherCpusOnly (or nested in one) sends
// a wake for a waiter that last slept on this thread's CPU at once.
//
// Open a batch only around work that ends soon, in a sleep or the batch's
// end: a held wake delays whoever it is for.
//
// Example:
//   ioreq::WakeBatch batch;          // this thread's uring wakes are held
//   client_bell.Ring();              // held: the client is not woken yet
//   completion_bell.Wait();          // one io_uring_enter: wake, then sleep
#ifndef IOREQ_CORE_NOTIFY_WAKE_BATCH_H_
#define IOREQ_CORE_NOTIFY_WAKE_BATCH_H_

#include "core/notify/internal/deferred_wakes.h"

namespace ioreq {

class WakeBatch {
 public:
  enum Hold {
    // Nothing: the scope is open but holds no wake (a batch that an option
    // turns off).
    kNone,
    // Every uring wake: for a thread that serves others and sleeps after
    // its pass (a client, the dispatcher).
    kAll,
    // Not a wake for a waiter that last slept on the CPU this thread runs
    // on: that one goes out at once. For a thread that waits for what its
    // wake starts (a vCPU after its upcall): sent at once, the woken thread
    // preempts this one, serves, and this thread finds its answer without
    // sleeping; held, this thread must sleep first and be woken back (one
    // CPU, direct: 7.4 against 11.8 µs a round trip, docs/performance.md).
    kOtherCpusOnly,
  };

  explicit WakeBatch(Hold hold = kAll)
      : open_(hold != kNone), same_cpu_(hold == kOtherCpusOnly) {
    if (!open_) return;  // kNone costs nothing
    notify_internal::DeferredWakes& d = notify_internal::t_deferred_wakes;
    ++d.depth;
    d.send_same_cpu += same_cpu_;
  }
  ~WakeBatch() {
    if (!open_) return;
    notify_internal::DeferredWakes& d = notify_internal::t_deferred_wakes;
    d.send_same_cpu -= same_cpu_;
    if (--d.depth == 0) Flush();
  }
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

  // Sends the wakes this thread holds so far, batch object in hand or not
  // (WakeBatch::Flush()): also before a wait that is not a doorbell's (a
  // poll of shared memory, a sleep for a back-off).
  static void Flush() { notify_internal::SendDeferredWakes(); }

  // Wakes this thread holds now.
  static uint32_t held() { return notify_internal::t_deferred_wakes.count; }

 private:
  const bool open_;
  const uint32_t same_cpu_;  // 1 for kOtherCpusOnly
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_WAKE_BATCH_H_
