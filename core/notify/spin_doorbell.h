// core/notify/spin_doorbell.h: busy-polling with the pause instruction.
//
// No system call ever: Ring() is a release store, Wait() spins on the word
// with `pause` until it sees it, then consumes it with an acquire exchange.
// The fastest wake-up there is when the waiter owns a core, and a disaster
// when it does not (the spinner burns the time slice the notifier needs).
//
// Example:
//   ioreq::SpinDoorbell bell;
//   bell.Ring();   // another thread
//   bell.Wait();
#ifndef IOREQ_CORE_NOTIFY_SPIN_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_SPIN_DOORBELL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/internal/waiter_word.h"

namespace ioreq {

class SpinDoorbell {
 public:
  static constexpr const char* kName = "spin";

  void Ring() {
    // Release pairs with the acquire exchange in WaitFor().
    word_.store(1, std::memory_order_release);
  }
  static void RingMany(SpinDoorbell* const* bells, size_t n) {
    for (size_t i = 0; i < n; ++i) bells[i]->Ring();
  }
  void Wait() { WaitFor(absl::InfiniteDuration()); }
  // The clock is read only after 1024 polls without a ring, and the timeout
  // counts from there: a ring that comes soon costs no clock read.
  bool WaitFor(absl::Duration timeout) {
    notify_internal::SendDeferredWakes();  // a spin carries no held wake
    absl::Time deadline = absl::InfiniteFuture();
    for (uint32_t spins = 1;; ++spins) {
      if (word_.load(std::memory_order_relaxed) != 0 &&
          word_.exchange(0, std::memory_order_acquire) != 0) {
        return true;
      }
      notify_internal::CpuRelax();
      if ((spins & 1023) == 0 && timeout != absl::InfiniteDuration()) {
        const absl::Time now = absl::Now();
        if (deadline == absl::InfiniteFuture()) deadline = now + timeout;
        if (now >= deadline) return false;
      }
    }
  }
  // Relaxed: a hint; WaitFor()'s exchange is what orders.
  bool Peek() const { return word_.load(std::memory_order_relaxed) != 0; }
  uint64_t syscalls() const { return 0; }

 private:
  alignas(64) std::atomic<uint32_t> word_{0};
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_SPIN_DOORBELL_H_
