#include "bench/stress_faults.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace bench {

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kGarbage: return "garbage";
    case Fault::kStall: return "stall";
    case Fault::kDestroy: return "destroy";
    case Fault::kClear: return "clear";
    case Fault::kPause: return "pause";
    case Fault::kDrop: return "drop";
  }
  return "?";
}

absl::StatusOr<uint32_t> ParseFaultList(absl::string_view list) {
  if (list.empty() || list == "none") return 0;
  if (list == "all") return kEveryFault;
  uint32_t mask = 0;
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    name = absl::StripAsciiWhitespace(name);
    bool known = false;
    for (Fault f : kAllFaults) {
      if (name != FaultName(f)) continue;
      if (mask & FaultBit(f)) {
        return absl::InvalidArgumentError(
            absl::StrCat("fault '", name, "' is named twice"));
      }
      mask |= FaultBit(f);
      known = true;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown fault '", name,
          "': accepts all, none, or a list of garbage, stall, destroy, "
          "clear, pause, drop"));
    }
  }
  return mask;
}

absl::Status ValidateFaultConfig(const FaultConfig& c) {
  auto bad = [](const char* flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: accepts %s", flag, value, what));
  };
  if ((c.enabled & ~kEveryFault) != 0) {
    return absl::InvalidArgumentError("unknown fault bits");
  }
  if (!(c.garbage_per_s > 0 && c.garbage_per_s <= 1e6)) {
    return bad("garbage_per_s", absl::StrCat(c.garbage_per_s),
               "bytes per second, more than 0 and at most 1e6");
  }
  if (c.stall_every < 1 || c.stall_every > 1000000000) {
    return bad("stall_every", absl::StrCat(c.stall_every), "1 to 1e9");
  }
  if (c.stall <= absl::ZeroDuration() || c.stall > absl::Seconds(1)) {
    return bad("stall_us", absl::StrCat(absl::ToInt64Microseconds(c.stall)),
               "1 to 1000000 microseconds");
  }
  if (c.destroy_every < 1 || c.destroy_every > 1000000000) {
    return bad("destroy_every", absl::StrCat(c.destroy_every), "1 to 1e9");
  }
  if (c.clear_every < absl::Milliseconds(1) || c.clear_every > absl::Hours(1)) {
    return bad("clear_every_ms",
               absl::StrCat(absl::ToInt64Milliseconds(c.clear_every)),
               "1 to 3600000 milliseconds");
  }
  if (c.pause_every < absl::Milliseconds(1) || c.pause_every > absl::Hours(1)) {
    return bad("pause_every_ms",
               absl::StrCat(absl::ToInt64Milliseconds(c.pause_every)),
               "1 to 3600000 milliseconds");
  }
  if (c.pause_for <= absl::ZeroDuration() || c.pause_for > absl::Seconds(1)) {
    return bad("pause_us", absl::StrCat(absl::ToInt64Microseconds(c.pause_for)),
               "1 to 1000000 microseconds");
  }
  if (c.drop_every < 1 || c.drop_every > 1000000000) {
    return bad("drop_every", absl::StrCat(c.drop_every),
               "1 (every one) to 1e9");
  }
  if (c.wedge_timeout < absl::Milliseconds(1) ||
      c.wedge_timeout > absl::Seconds(60)) {
    return bad("wedge_ms",
               absl::StrCat(absl::ToInt64Milliseconds(c.wedge_timeout)),
               "1 to 60000 milliseconds");
  }
  return absl::OkStatus();
}

void FaultTally::Merge(const FaultTally& o) {
  injected += o.injected;
  touched += o.touched;
  completed += o.completed;
  other_value += o.other_value;
  all_ones += o.all_ones;
  gave_up += o.gave_up;
  insert_refused += o.insert_refused;
}

}  // namespace bench
