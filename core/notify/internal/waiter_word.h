// core/notify/internal/waiter_word.h: the suppression protocol every
// blocking doorbell shares.
//
// One 32-bit word per waiter holds two bits:
//   kRung      a notification arrived and was not consumed yet;
//   kSleeping  the waiter is (about to be) blocked in the kernel.
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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/internal/deferred_wakes.h"
#include "core/notify/syscall_tally.h"

namespace ioreq {
namespace notify_internal {

inline constexpr uint32_t kRung = 1;
inline constexpr uint32_t kSleeping = 2;

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
  explicit SuppressedWaiter(Args&&... args) : backend_(args...) {}

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
  // timeout. A return without a ring before the timeout (a signal) waits
  // the whole timeout again.
  bool BlockUntilRung(absl::Duration timeout) {
    for (;;) {
      if (Consume()) return true;
      uint32_t expected = 0;
      // Release pairs with the acquire part of Ring()'s fetch_or: a notifier
      // that sees kSleeping will wake us.
      if (!word_.compare_exchange_strong(expected, kSleeping,
                                         std::memory_order_acq_rel)) {
        continue;  // rung in between: consume it
      }
      counter_.sleeps.fetch_add(1, std::memory_order_relaxed);
      CountSleepCall();
      // A wake this thread holds (core/notify/wake_batch.h) goes out before
      // it sleeps: with the sleep, or here.
      if constexpr (!CarriesDeferredWakes<Backend>::value) {
        SendDeferredWakes();
      }
      const bool woke = backend_.Block(word_, timeout);
      if (Consume()) return true;
      if (!woke) return false;
    }
  }

  Backend& backend() { return backend_; }
  const SyscallCounter& counter() const { return counter_; }
  SyscallCounter& counter() { return counter_; }

 private:
  alignas(64) std::atomic<uint32_t> word_{0};
  SyscallCounter counter_;
  Backend backend_;
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
