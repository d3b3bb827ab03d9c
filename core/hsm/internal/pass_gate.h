// core/hsm/internal/pass_gate.h: routing passes and Pause(), lock 1 of the
// HSM's lock order (vm_state.h).
//
// A kernel dispatch pass holds the gate exclusively, a direct claim scan
// and a direct upcall share it, and Pause() takes it exclusively once to
// drain: when Pause() returns, no pass is running and every later one sees
// paused() and does nothing (ioreq_pause(): drain_workqueue()). Pauses nest.
//
// The shared side is on every request's path in the direct topology (the
// vCPU's upcall, then the client's claim), on two threads that usually run
// on two CPUs. A reader-writer lock's one word would move between their
// caches twice a request; here a reader announces itself on a counter of
// its own stripe instead (a thread keeps its stripe, and a stripe is a
// cache line, so the line stays where the thread runs) and reads a writer
// flag that changes only when an exclusive pass begins or ends: a big-reader
// lock. An exclusive pass raises the flag and waits for every stripe to
// empty; a reader that finds the flag up steps back and waits on the
// writers' mutex. Passes do not nest.
//
// Example:
//   PassGate::Exclusive pass = gate.ExclusivePass();
//   if (gate.paused()) return;
#ifndef IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_
#define IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace ioreq {
namespace hsm_internal {

class PassGate {
 public:
  static constexpr uint32_t kStripes = 16;

  // A shared pass, held to the end of its scope.
  class Shared {
   public:
    explicit Shared(PassGate& gate) : stripe_(&gate.Enter()) {}
    ~Shared() {
      // Release pairs with the writer's acquire load in ExclusivePass():
      // the pass happens before the next exclusive one.
      stripe_->fetch_sub(1, std::memory_order_release);
    }
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;

   private:
    std::atomic<uint32_t>* stripe_;
  };

  // An exclusive pass, held to the end of its scope.
  class Exclusive {
   public:
    explicit Exclusive(PassGate& gate) : gate_(gate), lock_(gate.writers_) {
      gate_.DrainReaders();
    }
    ~Exclusive() {
      // Release pairs with the seq_cst load in Enter(): the pass happens
      // before every shared pass that enters after it.
      gate_.writer_.store(false, std::memory_order_release);
    }
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;

   private:
    PassGate& gate_;
    std::lock_guard<std::mutex> lock_;  // released after the flag drops
  };

  Exclusive ExclusivePass() { return Exclusive(*this); }
  Shared SharedPass() { return Shared(*this); }

  bool paused() const {
    // Pairs with the acq_rel updates in Pause() and Resume().
    return depth_.load(std::memory_order_acquire) > 0;
  }
  void Pause() {
    depth_.fetch_add(1, std::memory_order_acq_rel);
    // A pass in progress runs to its end; every later one sees paused().
    Exclusive drain(*this);
  }
  // True when this Resume() ended the last pause (the upcall is re-armed).
  bool Resume() {
    return depth_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<uint32_t> readers{0};
  };

  static uint32_t ThisThreadsStripe() {
    static std::atomic<uint32_t> next{0};
    thread_local const uint32_t stripe =
        next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }

  std::atomic<uint32_t>& Enter() {
    std::atomic<uint32_t>& readers = stripes_[ThisThreadsStripe()].readers;
    for (;;) {
      // Dekker with DrainReaders(): the announcement and the flag's load
      // are seq_cst, as are the flag's store and the counters' loads there,
      // so either this reader sees the flag or the writer sees this reader.
      readers.fetch_add(1, std::memory_order_seq_cst);
      if (!writer_.load(std::memory_order_seq_cst)) return readers;
      readers.fetch_sub(1, std::memory_order_relaxed);  // step back
      std::lock_guard<std::mutex> wait(writers_);      // until it is done
    }
  }

  // writers_ held.
  void DrainReaders() {
    writer_.store(true, std::memory_order_seq_cst);
    for (Stripe& stripe : stripes_) {
      // Acquire pairs with the release decrement in ~Shared(): every pass
      // that was in ends before this one begins.
      while (stripe.readers.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
  }

  std::array<Stripe, kStripes> stripes_{};
  std::atomic<bool> writer_{false};  // an exclusive pass runs or waits
  std::mutex writers_;               // one exclusive pass at a time
  std::atomic<int> depth_{0};
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_
