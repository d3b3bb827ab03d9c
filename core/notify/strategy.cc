#include "core/notify/strategy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ioreq {

const std::vector<std::string>& StrategyNames() {
  static const auto* names = new std::vector<std::string>{
      "spin", "eventfd", "uring", "uring_eventfd", "futex", "adaptive"};
  return *names;
}

absl::StatusOr<Strategy> ParseStrategy(absl::string_view name) {
  static constexpr Strategy kAll[] = {
      Strategy::kSpin,  Strategy::kEventfd, Strategy::kUring,
      Strategy::kUringEventfd, Strategy::kFutex, Strategy::kAdaptive};
  for (Strategy s : kAll) {
    if (name == StrategyName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown strategy '", name, "': one of ", absl::StrJoin(StrategyNames(), ", ")));
}

const char* StrategyName(Strategy strategy) {
  return WithStrategy(strategy, [](auto tag) {
    return decltype(tag)::type::kName;
  });
}

absl::Status CheckStrategySupported(Strategy strategy) {
  if (strategy == Strategy::kUring || strategy == Strategy::kUringEventfd) {
    return ProbeUring();
  }
  return absl::OkStatus();
}

}  // namespace ioreq
