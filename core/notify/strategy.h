// core/notify/strategy.h: the notification strategies, by name.
//
// Every edge on which one side waits for another (the upcall to the
// dispatcher, the wake of a client, the completion notification to a vCPU)
// goes through a doorbell of one strategy. A doorbell type provides:
//   void Ring();                          // any thread; never blocks
//   void Wait();                          // the one waiter; returns after
//                                         // a Ring() (spurious returns
//                                         // allowed: callers re-check)
//   bool WaitFor(absl::Duration);         // false on timeout; a timeout
//                                         // of zero or less takes a
//                                         // pending ring and never sleeps
//   bool Peek() const;                    // a ring waits to be consumed
//                                         // (relaxed: a hint for polling,
//                                         // poll_for_ring.h)
//   static void RingMany(Bell* const*, size_t);  // several at once
//   uint64_t syscalls() const;            // wake + sleep system calls made
//   static constexpr const char* kName;
// Where a doorbell is rung or waited on per slot (the HSM's routing engines
// and the clients they make) it is a template parameter, a compile-time
// policy; elsewhere a run-time AnyDoorbell (any_doorbell.h) does. Users pick
// the strategy by value (Hsm, EmulatedHypervisor), and WithStrategy() turns
// the value into the type once, at construction.
//
// Example:
//   absl::StatusOr<ioreq::Strategy> s = ioreq::ParseStrategy("futex");
//   ioreq::WithStrategy(*s, [&](auto tag) {
//     using Bell = typename decltype(tag)::type;
//     ioreq::hsm_internal::KernelDispatcher<Bell> engine(...);
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

// The one list of strategies, in the order every report shows them. The
// enum, the names (each doorbell's kName), WithStrategy(), the explicit
// instantiations of the templates (IOREQ_INSTANTIATE_FOR_EACH_DOORBELL), the
// typed-test list (AllDoorbells) and the flag help are all made from it.
// X(enumerator, Doorbell, extra...) for each strategy; `extra` is passed
// through (see IOREQ_INSTANTIATE_FOR_EACH_DOORBELL).
#define IOREQ_FOR_EACH_STRATEGY(X, ...)                 \
  X(kSpin, SpinDoorbell, __VA_ARGS__)                   \
  X(kEventfd, EventfdDoorbell, __VA_ARGS__)             \
  X(kUring, UringDoorbell, __VA_ARGS__)                 \
  X(kUringEventfd, UringEventfdDoorbell, __VA_ARGS__)   \
  X(kFutex, FutexDoorbell, __VA_ARGS__)                 \
  X(kAdaptive, AdaptiveDoorbell, __VA_ARGS__)

enum class Strategy {
#define IOREQ_STRATEGY_ENUMERATOR(enumerator, Bell, ...) enumerator,
  IOREQ_FOR_EACH_STRATEGY(IOREQ_STRATEGY_ENUMERATOR, )
#undef IOREQ_STRATEGY_ENUMERATOR
};

// Every strategy, in list order.
inline constexpr Strategy kAllStrategies[] = {
#define IOREQ_STRATEGY_VALUE(enumerator, Bell, ...) Strategy::enumerator,
    IOREQ_FOR_EACH_STRATEGY(IOREQ_STRATEGY_VALUE, )
#undef IOREQ_STRATEGY_VALUE
};

// "spin", "eventfd", "uring", "uring_eventfd", "futex", "adaptive".
const std::vector<std::string>& StrategyNames();
// The names joined by ", ", for flag help and error messages.
const std::string& StrategyNameList();
absl::StatusOr<Strategy> ParseStrategy(absl::string_view name);
const char* StrategyName(Strategy strategy);
// Checks that the kernel offers what the strategy needs. uring and
// uring_eventfd need io_uring and its opcodes (ProbeUring()), which a
// seccomp profile or `kernel.io_uring_disabled` may refuse: Unavailable,
// naming why. The others need nothing beyond futex and eventfd.
absl::Status CheckStrategySupported(Strategy strategy);

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<Bell>{}) with the doorbell type of `strategy`.
template <typename Fn>
decltype(auto) WithStrategy(Strategy strategy, Fn&& fn) {
  switch (strategy) {
#define IOREQ_STRATEGY_CASE(enumerator, Bell, ...) \
    case Strategy::enumerator:                \
      return fn(TypeTag<Bell>{});
    IOREQ_FOR_EACH_STRATEGY(IOREQ_STRATEGY_CASE, )
#undef IOREQ_STRATEGY_CASE
  }
  return fn(TypeTag<EventfdDoorbell>{});  // not reached: the switch is total
}

// AllDoorbells<L> is L<SpinDoorbell, EventfdDoorbell, ...>, in list order:
// for example ::testing::Types for a typed test over every strategy.
namespace notify_internal {
template <template <typename...> class L, typename Ignored, typename... Bells>
struct DropFirst {
  using type = L<Bells...>;
};
}  // namespace notify_internal
#define IOREQ_STRATEGY_COMMA_TYPE(enumerator, Bell, ...) , Bell
template <template <typename...> class L>
using AllDoorbells = typename notify_internal::DropFirst<
    L, void IOREQ_FOR_EACH_STRATEGY(IOREQ_STRATEGY_COMMA_TYPE, )>::type;
#undef IOREQ_STRATEGY_COMMA_TYPE

// In the .cc that defines a class template's members, instantiates it for
// every doorbell:  IOREQ_INSTANTIATE_FOR_EACH_DOORBELL(KernelDispatcher)
// and in its header:  IOREQ_EXTERN_FOR_EACH_DOORBELL(KernelDispatcher)
#define IOREQ_INSTANTIATE_ONE_DOORBELL(enumerator, Bell, Template) \
  template class Template<::ioreq::Bell>;
#define IOREQ_INSTANTIATE_FOR_EACH_DOORBELL(Template) \
  IOREQ_FOR_EACH_STRATEGY(IOREQ_INSTANTIATE_ONE_DOORBELL, Template)
#define IOREQ_EXTERN_ONE_DOORBELL(enumerator, Bell, Template) \
  extern template class Template<::ioreq::Bell>;
#define IOREQ_EXTERN_FOR_EACH_DOORBELL(Template) \
  IOREQ_FOR_EACH_STRATEGY(IOREQ_EXTERN_ONE_DOORBELL, Template)

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_STRATEGY_H_
