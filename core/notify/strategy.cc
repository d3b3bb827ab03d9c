#include "core/notify/strategy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ioreq {

const std::vector<std::string>& StrategyNames() {
  static const auto* names = [] {
    auto* list = new std::vector<std::string>;
    for (Strategy s : kAllStrategies) list->push_back(StrategyName(s));
    return list;
  }();
  return *names;
}

const std::string& StrategyNameList() {
  static const auto* list =
      new std::string(absl::StrJoin(StrategyNames(), ", "));
  return *list;
}

absl::StatusOr<Strategy> ParseStrategy(absl::string_view name) {
  for (Strategy s : kAllStrategies) {
    if (name == StrategyName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown strategy '", name, "': one of ", StrategyNameList()));
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
