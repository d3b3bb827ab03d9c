// core/notify/uring_doorbell.h: waiters that block in their own io_uring.
//
// Two ways to deliver the wake-up, each a strategy of its own:
//   uring          the notifier submits IORING_OP_MSG_RING from its own
//                  (per-thread) ring into the waiter's ring, with
//                  IOSQE_CQE_SKIP_SUCCESS so its own ring gets no CQE; the
//                  waiter sleeps in io_uring_wait_cqe(). A notifier with
//                  several wakes in hand (the dispatcher after a scan)
//                  submits them all with one io_uring_enter (RingMany()).
//                  Inside a WakeBatch (core/notify/wake_batch.h) the
//                  messages are held and go out with the thread's next
//                  sleep on a `uring` doorbell: one io_uring_enter for the
//                  wakes and the sleep.
//   uring_eventfd  the waiter keeps a read armed on its eventfd in its
//                  ring and sleeps in io_uring_wait_cqe(); the notifier
//                  write()s the eventfd.
// Both use the waiters flag of core/notify/internal/waiter_word.h: no system
// call while the waiter is awake. ProbeUring() checks at start-up that the
// kernel has what these need (io_uring itself, MSG_RING, READ, and
// IOSQE_CQE_SKIP_SUCCESS) and says what is missing. SetUringSqpoll(true)
// makes each notifier's ring an SQPOLL ring: submission without a system
// call, at the price of a kernel thread polling per notifier thread.
//
// Example:
//   if (absl::Status s = ioreq::ProbeUring(); !s.ok()) return s;
//   ioreq::UringDoorbell bell;
//   bell.Ring();
//   bell.Wait();
#ifndef IOREQ_CORE_NOTIFY_URING_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_URING_DOORBELL_H_

#include <liburing.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/notify/internal/waiter_word.h"

namespace ioreq {

// Checks the kernel's io_uring for everything the uring strategies use, by
// probing the opcodes and sending one MSG_RING; the error names what is
// missing.
absl::Status ProbeUring();

// Notifier rings created after this call use IORING_SETUP_SQPOLL.
void SetUringSqpoll(bool enabled);

namespace notify_internal {

// The most held wakes (core/notify/wake_batch.h) one sleep on a `uring`
// doorbell carries: its ring's submission queue. More go out through the
// notifier ring first, in one submit of their own.
inline constexpr unsigned kWakesASleepCarries = 32;

// Rings mapped so far. A ring is never unmapped: one given back (a doorbell
// destroyed, a notifying thread ended) is taken again by the next that needs
// one of its size (liburing maps rings with raw system calls that
// ThreadSanitizer cannot see; see RingPool in uring_doorbell.cc).
size_t UringRingsMapped();

class UringMsgBackend {
 public:
  UringMsgBackend();
  ~UringMsgBackend();
  UringMsgBackend(const UringMsgBackend&) = delete;
  UringMsgBackend& operator=(const UringMsgBackend&) = delete;
  void Wake(std::atomic<uint32_t>& word);
  // Queues a MSG_RING on this thread's notifier ring without submitting.
  void QueueWake();
  // Submits what QueueWake() queued on this thread's ring.
  static void FlushWakes();
  // Sends this thread's held wakes (core/notify/wake_batch.h) in the
  // io_uring_enter that sleeps.
  bool Block(std::atomic<uint32_t>& word, absl::Duration timeout);
  static constexpr bool kCarriesDeferredWakes = true;

 private:
  io_uring* const ring_;  // from the pool in uring_doorbell.cc
  std::atomic<int> sleep_cpu_{-1};  // where the waiter last went to sleep
};

class UringEventfdBackend {
 public:
  UringEventfdBackend();
  ~UringEventfdBackend();
  UringEventfdBackend(const UringEventfdBackend&) = delete;
  UringEventfdBackend& operator=(const UringEventfdBackend&) = delete;
  void Wake(std::atomic<uint32_t>& word);
  bool Block(std::atomic<uint32_t>& word, absl::Duration timeout);

 private:
  io_uring* const ring_;  // from the pool in uring_doorbell.cc
  int fd_;
  bool armed_ = false;  // a read is in flight in ring_
  uint64_t buffer_ = 0;
};

}  // namespace notify_internal

class UringDoorbell
    : public notify_internal::BlockingDoorbell<notify_internal::UringMsgBackend> {
 public:
  static constexpr const char* kName = "uring";

  // Every wake that needs a system call goes in one io_uring_enter.
  static void RingMany(UringDoorbell* const* bells, size_t n) {
    bool queued = false;
    for (size_t i = 0; i < n; ++i) {
      if (bells[i]->waiter_.RingNeedsWake()) {
        bells[i]->waiter_.backend().QueueWake();
        queued = true;
      }
    }
    if (queued) notify_internal::UringMsgBackend::FlushWakes();
  }
};

class UringEventfdDoorbell
    : public notify_internal::BlockingDoorbell<
          notify_internal::UringEventfdBackend> {
 public:
  static constexpr const char* kName = "uring_eventfd";
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_URING_DOORBELL_H_
