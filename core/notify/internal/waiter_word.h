// core/notify/internal/waiter_word.h: the suppression protocol every
// blocking doorbell shares.
//
// One 32-bit word per waiter holds three bits:
//   kRung      a notification arrived and was not consumed yet;
//   kSleeping  the waiter is (about to be) blocked in the kernel;
//   kTimedOut  the waiter's coarse timeout fired (coarse_timeout.h): set by
//              the ticker like a ring, but read as a timeout.
// A notifier sets kRung and makes a system call only if kSleeping was set:
// while the waiter is awake it costs one atomic RMW, no system call (the
// spirit of virtio's EVENT_IDX and KVM's halt-polling). The waiter consumes
// kRung, or publishes kSleeping with a compare-exchange from 0 and only then
// blocks; a ring that lands in between makes the exchange fail and the
// waiter does not block. The backend's block must itself not lose a wake
// that comes after kSleeping was published (futex: it re-checks the word;
// eventfd and io_uring: the kernel keeps the count or the completion).
#ifndef IOREQ_CORE_NOTIFY_INTERNAL_WAITER_WORD_H_
#define IOREQ_CORE_NOTIFY_INTERNAL_WAITER_WORD_H_

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/internal/coarse_timeout.h"
#include "core/notify/internal/deferred_wakes.h"
#include "core/notify/syscall_tally.h"

namespace ioreq {
namespace notify_internal {

inline constexpr uint32_t kRung = 1;
inline constexpr uint32_t kSleeping = 2;
inline constexpr uint32_t kTimedOut = 4;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// True for a backend whose Block() sends this thread's held wakes in the
// call that sleeps (static constexpr bool kCarriesDeferredWakes = true).
template <typename Backend, typename = void>
struct CarriesDeferredWakes {
  static constexpr bool value = false;
};
template <typename Backend>
struct CarriesDeferredWakes<Backend,
                            std::void_t<decltype(Backend::kCarriesDeferredWakes)>> {
  static constexpr bool value = Backend::kCarriesDeferredWakes;
};

// Counts of the system calls a doorbell made (relaxed; for statistics).
struct SyscallCounter {
  std::atomic<uint64_t> wakes{0};
  std::atomic<uint64_t> sleeps{0};
  uint64_t total() const {
    return wakes.load(std::memory_order_relaxed) +
           sleeps.load(std::memory_order_relaxed);
  }
};

// The protocol, over a Backend with:
//   void Wake(std::atomic<uint32_t>& word);  // make the blocked waiter return
//   bool Block(std::atomic<uint32_t>& word, absl::Duration timeout);
//        // blocks while word == kSleeping, for at most `timeout`
//        // (InfiniteDuration(): no limit); may return early (true);
//        // false only when the timeout passed
// The timeout is relative so that going to sleep reads no clock: a timed
// wait is the [rescan]'s, which needs no precision, and it is on every
// request's path.
template <typename Backend>
class SuppressedWaiter {
 public:
  template <typename... Args>
  explicit SuppressedWaiter(Args&&... args)
      : backend_(args...), coarse_(&FireTimeout, this) {}

  void Ring() {
    // Release: what the notifier wrote before ringing is visible to the
    // waiter's acquire exchange in Consume(). Acquire: pairs with the
    // waiter's release of kSleeping in TryAnnounceSleep().
    if (word_.fetch_or(kRung, std::memory_order_acq_rel) & kSleeping) {
      counter_.wakes.fetch_add(1, std::memory_order_relaxed);
      backend_.Wake(word_);
    }
  }

  // Sets kRung; true if the waiter sleeps and must be woken by the caller
  // (through backend().Wake(), or batched). Same ordering as Ring().
  bool RingNeedsWake() {
    if (word_.fetch_or(kRung, std::memory_order_acq_rel) & kSleeping) {
      counter_.wakes.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  // True if a ring waits to be consumed (relaxed: a hint for spinning).
  bool Peek() const {
    return (word_.load(std::memory_order_relaxed) & kRung) != 0;
  }

  // Consumes a pending ring; true if there was one. Acquire pairs with the
  // release in Ring().
  bool Consume() {
    return (word_.exchange(0, std::memory_order_acquire) & kRung) != 0;
  }

  // Blocks until rung or until `timeout` passed without a ring; false on
  // timeout (at once, and without a system call, for a timeout of zero or
  // less). A return without a ring before the timeout (a signal) waits
  // the whole timeout again. A timeout of kCoarseMin or more is the
  // ticker's (coarse_timeout.h): the backend then sleeps with none, so no
  // kernel timer is armed and cancelled on every sleep.
  bool BlockUntilRung(absl::Duration timeout) {
    if (Consume()) return true;
    // A wait that may not sleep publishes no kSleeping: no sleep is counted
    // for it, and no notifier makes a wake call for it.
    if (timeout <= absl::ZeroDuration()) return false;
    const bool coarse = IsCoarse(timeout);
    if (coarse) coarse_.Arm(timeout);
    const absl::Duration kernel_timeout =
        coarse ? absl::InfiniteDuration() : timeout;
    for (;;) {
      uint32_t expected = 0;
      bool woke = true;
      // Release pairs with the acquire part of Ring()'s fetch_or (and of
      // FireTimeout()'s): a notifier that sees kSleeping will wake us. A
      // failed exchange means a ring or the timeout came: consume it.
      if (word_.compare_exchange_strong(expected, kSleeping,
                                        std::memory_order_acq_rel)) {
        counter_.sleeps.fetch_add(1, std::memory_order_relaxed);
        CountSleepCall();
        // A wake this thread holds (core/notify/wake_batch.h) goes out
        // before it sleeps: with the sleep, or here.
        if constexpr (!CarriesDeferredWakes<Backend>::value) {
          SendDeferredWakes();
        }
        woke = backend_.Block(word_, kernel_timeout);
      }
      // Acquire pairs with the release in Ring() and FireTimeout().
      const uint32_t bits = word_.exchange(0, std::memory_order_acquire);
      if (bits & kRung) {
        if (coarse) EndCoarseTimeout(bits);
        return true;
      }
      if (bits & kTimedOut) return false;  // the ticker took it: disarmed
      if (!woke) return false;             // the kernel's timeout passed
    }
  }

  Backend& backend() { return backend_; }
  const SyscallCounter& counter() const { return counter_; }
  SyscallCounter& counter() { return counter_; }

 private:
  // On the ticker's thread: the coarse timeout is due. Like Ring(), but
  // the bit reads as a timeout. Acq_rel: the release pairs with the
  // waiter's acquire exchange in BlockUntilRung(), the acquire with its
  // release of kSleeping.
  static void FireTimeout(void* self) {
    auto& waiter = *static_cast<SuppressedWaiter*>(self);
    if (waiter.word_.fetch_or(kTimedOut, std::memory_order_acq_rel) &
        kSleeping) {
      waiter.counter_.wakes.fetch_add(1, std::memory_order_relaxed);
      waiter.backend_.Wake(waiter.word_);
    }
  }

  // Rung while a coarse timeout was armed: disarm it. If the ticker had
  // already claimed it, its kTimedOut lands now or soon (the ticker is
  // between two instructions); it is taken here, so that it cannot end the
  // next sleep early. `bits` is what the waiter consumed with the ring.
  void EndCoarseTimeout(uint32_t bits) {
    if (coarse_.Disarm() || (bits & kTimedOut)) return;
    // Acquire pairs with the release in FireTimeout().
    while (!(word_.load(std::memory_order_acquire) & kTimedOut)) {
      sched_yield();
    }
    word_.fetch_and(~kTimedOut, std::memory_order_relaxed);
  }

  alignas(64) std::atomic<uint32_t> word_{0};
  SyscallCounter counter_;
  Backend backend_;
  // After backend_: destroyed first, so the ticker never fires into a
  // backend that is gone.
  CoarseTimeout coarse_;
};

// The doorbell interface (core/notify/strategy.h) over a SuppressedWaiter:
// what every blocking strategy shares. A strategy derives from it, names
// itself (kName) and may replace RingMany() with a batched one.
template <typename Backend>
class BlockingDoorbell {
 public:
  void Ring() { waiter_.Ring(); }
  template <typename Bell>
  static void RingMany(Bell* const* bells, size_t n) {
    for (size_t i = 0; i < n; ++i) bells[i]->Ring();
  }
  void Wait() { waiter_.BlockUntilRung(absl::InfiniteDuration()); }
  bool WaitFor(absl::Duration timeout) {
    return waiter_.BlockUntilRung(timeout);
  }
  bool Peek() const { return waiter_.Peek(); }
  uint64_t syscalls() const { return waiter_.counter().total(); }

 protected:
  SuppressedWaiter<Backend> waiter_;
};

}  // namespace notify_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_INTERNAL_WAITER_WORD_H_
