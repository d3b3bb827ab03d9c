#include "core/notify/internal/coarse_timeout.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace ioreq {
namespace notify_internal {
namespace {

// SetBetweenClaimAndFireForTesting().
std::atomic<void (*)()> g_between_claim_and_fire{nullptr};

}  // namespace

void SetBetweenClaimAndFireForTesting(void (*hook)()) {
  // Release pairs with the ticker's acquire load in Run(): what the test
  // set up for the hook is visible to it.
  g_between_claim_and_fire.store(hook, std::memory_order_release);
}

// The process-wide ticker: the list of registered entries and the thread
// that walks it every kCoarseTick. Its mutex is taken on a registration, an
// unregistration and each tick; a tick fires entries (Wake() system calls)
// under it. Nothing is locked while it is held but what a wake takes (the
// io_uring ring pool's mutex, on the ticker thread's first MSG_RING), so it
// comes before that one in any order.
class CoarseTicker {
 public:
  static CoarseTicker& Get() {
    static CoarseTicker* const ticker = new CoarseTicker;  // never destroyed
    return *ticker;
  }

  // Relaxed: the tick moves every kCoarseTick, so a waiter reads the
  // latest in practice; Arm() adds a tick of margin besides.
  uint64_t now() const { return now_tick_.load(std::memory_order_relaxed); }

  void Add(CoarseTimeout* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    entry->index_ = entries_.size();
    entries_.push_back(entry);
    // Release pairs with the acquire loads in Arm() and ~CoarseTimeout().
    entry->registered_.store(true, std::memory_order_release);
    if (entries_.size() == 1) {
      const uint64_t generation = ++generation_;
      thread_ = std::thread([this, generation] { Run(generation); });
      // Its own name, not the one it would inherit from whichever thread
      // armed the first timeout (the HSM's dispatcher, say).
      pthread_setname_np(thread_.native_handle(), "coarse-ticker");
    }
  }

  void Remove(CoarseTimeout* entry) {
    std::thread ending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      CoarseTimeout* last = entries_.back();
      entries_[entry->index_] = last;
      last->index_ = entry->index_;
      entries_.pop_back();
      if (entries_.empty()) {
        ++generation_;  // the running thread returns at its next look
        ending = std::move(thread_);
        stop_.notify_all();
      }
    }
    if (ending.joinable()) ending.join();
  }

 private:
  void Run(uint64_t generation) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // A tick lasts at least kCoarseTick: a timeout fires no earlier than
      // asked (Arm() adds a tick for the one already under way).
      const auto tick_end = std::chrono::steady_clock::now() +
                            absl::ToChronoNanoseconds(kCoarseTick);
      if (stop_.wait_until(lock, tick_end, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return generation_ != generation;
          })) {
        return;
      }
      const uint64_t now =
          now_tick_.fetch_add(1, std::memory_order_relaxed) + 1;
      for (CoarseTimeout* entry : entries_) {
        uint64_t due = entry->due_tick_.load(std::memory_order_relaxed);
        // Acq_rel pairs with the waiter's exchange in Disarm(): exactly one
        // of the two takes an armed timeout.
        if (due != 0 && due <= now &&
            entry->due_tick_.compare_exchange_strong(
                due, 0, std::memory_order_acq_rel, std::memory_order_relaxed)) {
          // Acquire pairs with the release store in
          // SetBetweenClaimAndFireForTesting().
          if (auto* hook = g_between_claim_and_fire.load(
                  std::memory_order_acquire)) {
            hook();
          }
          entry->fire_(entry->waiter_);
        }
      }
    }
  }

  std::mutex mu_;
  std::condition_variable stop_;  // signalled when generation_ moves
  std::vector<CoarseTimeout*> entries_ ABSL_GUARDED_BY(mu_);
  // Moves when the list empties or refills: a thread of an older generation
  // returns.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> now_tick_{1};
};

CoarseTimeout::~CoarseTimeout() {
  // Acquire pairs with the release in CoarseTicker::Add().
  if (registered_.load(std::memory_order_acquire)) {
    CoarseTicker::Get().Remove(this);
  }
}

void CoarseTimeout::Register() { CoarseTicker::Get().Add(this); }

void CoarseTimeout::Arm(absl::Duration timeout) {
  // Acquire pairs with the release in CoarseTicker::Add().
  if (!registered_.load(std::memory_order_acquire)) Register();
  const int64_t tick_ns = absl::ToInt64Nanoseconds(kCoarseTick);
  const int64_t timeout_ns = absl::ToInt64Nanoseconds(timeout);
  // Whole ticks to cover the timeout, and one more for the tick under way:
  // the timeout fires after at least `timeout` and at most two ticks more.
  const uint64_t ticks =
      static_cast<uint64_t>((timeout_ns + tick_ns - 1) / tick_ns) + 1;
  // Relaxed: the ticker may read it before or after the waiter publishes
  // kSleeping; either way it fires at the due tick, and a fire that comes
  // before the sleep makes the waiter's compare-exchange fail
  // (waiter_word.h), so the waiter does not sleep.
  due_tick_.store(CoarseTicker::Get().now() + ticks,
                  std::memory_order_relaxed);
}

}  // namespace notify_internal
}  // namespace ioreq
