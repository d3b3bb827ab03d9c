// core/notify/strategy.h: the notification strategies, by name.
//
// Every edge on which one side waits for another (the upcall to the
// dispatcher, the wake of a client, the completion notification to a vCPU)
// goes through a doorbell of one strategy. A doorbell type provides:
//   void Ring();                          // any thread; never blocks
//   void Wait();                          // the one waiter; returns after
//                                         // a Ring() (spurious returns
//                                         // allowed: callers re-check)
//   bool WaitFor(absl::Duration);         // false on timeout
//   static void RingMany(Bell* const*, size_t);  // several at once
//   uint64_t syscalls() const;            // wake + sleep system calls made
//   static constexpr const char* kName;
// The model's classes take the doorbell as a template parameter (a
// compile-time policy); the strategy is chosen by name at run time once, at
// the top, by WithStrategy().
//
// Example:
//   absl::StatusOr<ioreq::Strategy> s = ioreq::ParseStrategy("futex");
//   ioreq::WithStrategy(*s, [&](auto tag) {
//     using Bell = typename decltype(tag)::type;
//     ioreq::BasicHsm<Bell> hsm(...);
//   });
#ifndef IOREQ_CORE_NOTIFY_STRATEGY_H_
#define IOREQ_CORE_NOTIFY_STRATEGY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/notify/adaptive_doorbell.h"
#include "core/notify/eventfd_doorbell.h"
#include "core/notify/futex_doorbell.h"
#include "core/notify/spin_doorbell.h"
#include "core/notify/uring_doorbell.h"

namespace ioreq {

enum class Strategy { kSpin, kEventfd, kUring, kUringEventfd, kFutex, kAdaptive };

// "spin", "eventfd", "uring", "uring_eventfd", "futex", "adaptive".
const std::vector<std::string>& StrategyNames();
absl::StatusOr<Strategy> ParseStrategy(absl::string_view name);
const char* StrategyName(Strategy strategy);
// Checks that the kernel supports the strategy (io_uring's opcodes).
absl::Status CheckStrategySupported(Strategy strategy);

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<Bell>{}) with the doorbell type of `strategy`.
template <typename Fn>
decltype(auto) WithStrategy(Strategy strategy, Fn&& fn) {
  switch (strategy) {
    case Strategy::kSpin:
      return fn(TypeTag<SpinDoorbell>{});
    case Strategy::kEventfd:
      return fn(TypeTag<EventfdDoorbell>{});
    case Strategy::kUring:
      return fn(TypeTag<UringDoorbell>{});
    case Strategy::kUringEventfd:
      return fn(TypeTag<UringEventfdDoorbell>{});
    case Strategy::kFutex:
      return fn(TypeTag<FutexDoorbell>{});
    case Strategy::kAdaptive:
    default:
      return fn(TypeTag<AdaptiveDoorbell>{});
  }
}

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_STRATEGY_H_
