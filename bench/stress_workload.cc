#include "bench/stress_workload.h"

#include <iterator>
#include <string>
#include <vector>

#include "core/kvm/kvm_vm.h"
#include "guests/guest_abi.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/internal/abseil_clock.h"
#include "bench/internal/stress_run.h"
#include "bench/internal/watchdog.h"
#include "core/notify/strategy.h"

namespace bench {

using stress_internal::StressRun;
using stress_internal::Watchdog;

const char* ProducerName(Producer producer) {
  return producer == Producer::kKvm ? "kvm" : "emulated";
}

absl::StatusOr<Producer> ParseProducer(const std::string& name) {
  if (name == "emulated") return Producer::kEmulated;
  if (name == "kvm") return Producer::kKvm;
  return absl::InvalidArgumentError(
      absl::StrFormat("--hypervisor=%s: accepts emulated or kvm", name));
}

const char* PlantedBugName(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kWrongRead:
      return "wrong_read";
    case PlantedBug::kLostWrite:
      return "lost_write";
    case PlantedBug::kStrayFinish:
      return "stray_finish";
    case PlantedBug::kNone:
      break;
  }
  return "none";
}

const std::string& PlantedBugNameList() {
  static const std::string* list = [] {
    std::string s;
    constexpr size_t n = std::size(kAllPlantedBugs);
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(&s, i == 0 ? "" : i + 1 == n ? " or " : ", ",
                      PlantedBugName(kAllPlantedBugs[i]));
    }
    return new std::string(s);
  }();
  return *list;
}

absl::StatusOr<PlantedBug> ParsePlantedBug(const std::string& name) {
  for (PlantedBug bug : kAllPlantedBugs) {
    if (name == PlantedBugName(bug)) return bug;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "--plant=%s: accepts %s", name, PlantedBugNameList()));
}

namespace {

// The strategies this kernel offers (a seccomp profile or
// kernel.io_uring_disabled can refuse io_uring), joined by ", ".
std::string StrategiesSupportedHere() {
  std::vector<std::string> offered;
  for (ioreq::Strategy s : ioreq::kAllStrategies) {
    if (ioreq::CheckStrategySupported(s).ok()) {
      offered.push_back(ioreq::StrategyName(s));
    }
  }
  return absl::StrJoin(offered, ", ");
}

}  // namespace

absl::Status ValidateStressConfig(const StressConfig& c) {
  auto bad = [](const char* flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: accepts %s", flag, value, what));
  };
  bool known_strategy = false;
  for (ioreq::Strategy s : ioreq::kAllStrategies) known_strategy |= s == c.strategy;
  if (!known_strategy) {
    return bad("strategy", absl::StrCat(static_cast<int>(c.strategy)),
               absl::StrCat("one of: ", ioreq::StrategyNameList()).c_str());
  }
  if (absl::Status offered = ioreq::CheckStrategySupported(c.strategy);
      !offered.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--strategy=", ioreq::StrategyName(c.strategy), ": ", offered.message(),
        "; this machine accepts ", StrategiesSupportedHere()));
  }
  if (c.topology != ioreq::Topology::kKernel &&
      c.topology != ioreq::Topology::kDirect) {
    return bad("topology", absl::StrCat(static_cast<int>(c.topology)),
               "one of: kernel, direct");
  }
  if (c.vms < 1 || c.vms > 64) return bad("vms", absl::StrCat(c.vms), "1 to 64");
  if (c.vcpus < 1 || c.vcpus > ioreq::kIoRequestMax) {
    return bad("vcpus", absl::StrCat(c.vcpus), "1 to 16");
  }
  if (c.clients < 1 || c.clients > 64) {
    return bad("clients", absl::StrCat(c.clients), "1 to 64");
  }
  if (c.requests < 1) {
    return bad("requests", absl::StrCat(c.requests), "a count of 1 or more");
  }
  if (!(c.seconds >= 0 && c.seconds <= 86400)) {
    return bad("seconds", absl::StrCat(c.seconds), "0 to 86400 (0: use --requests)");
  }
  if (!(c.offered_rate_per_vcpu >= 0 && c.offered_rate_per_vcpu <= 1e7)) {
    return bad("rate", absl::StrCat(c.offered_rate_per_vcpu),
               "requests per second per vCPU, 0 (closed loop) to 1e7");
  }
  if (c.hypervisor == Producer::kKvm) {
    if (c.clients > static_cast<int>(GUEST_MAX_BARS)) {
      return bad("clients", absl::StrCat(c.clients),
                 "1 to 8 with --hypervisor=kvm (the guest's BAR windows)");
    }
    if (c.offered_rate_per_vcpu != 0) {
      return bad("rate", absl::StrCat(c.offered_rate_per_vcpu),
                 "only 0 with --hypervisor=kvm (a guest runs closed loop)");
    }
    if (c.posted_doorbell) {
      return bad("doorbell", "posted",
                 "ioeventfd with --hypervisor=kvm (the guest checks that a "
                 "doorbell read returns 0, as an ioeventfd answers)");
    }
    if (absl::Status usable = ioreq::kvm::KvmUsable(); !usable.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--hypervisor=kvm: ", usable.message()));
    }
  } else if (c.hypervisor != Producer::kEmulated) {
    return bad("hypervisor", absl::StrCat(static_cast<int>(c.hypervisor)),
               "emulated or kvm");
  }
  bool known_bug = false;
  for (PlantedBug b : kAllPlantedBugs) known_bug |= b == c.planted_bug;
  if (!known_bug) {
    return bad("plant", absl::StrCat(static_cast<int>(c.planted_bug)),
               PlantedBugNameList().c_str());
  }
  if (c.completion_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("completion timeout must be positive");
  }
  if (!(c.progress_s >= 0 && c.progress_s <= 3600)) {
    return bad("progress_s", absl::StrCat(c.progress_s),
               "0 (no progress lines) to 3600 seconds");
  }
  if (c.service_poll < absl::ZeroDuration() ||
      c.service_poll > absl::Milliseconds(1)) {
    return bad("service_poll_us", absl::FormatDuration(c.service_poll),
               "0 to 1000 microseconds");
  }
  if (c.run_bound < absl::ZeroDuration() || c.run_bound > absl::Hours(24)) {
    return bad("watchdog_s", absl::FormatDuration(c.run_bound), "0 to 86400");
  }
  return ValidateFaultConfig(c.faults);
}

absl::StatusOr<StressResult> RunStress(const StressConfig& config) {
  if (absl::Status valid = ValidateStressConfig(config); !valid.ok()) {
    return valid;
  }
  // The load times every request with Abseil's clock.
  CalibrateAbseilClock();
  const absl::Duration hang_bound =
      config.hang_bound > absl::ZeroDuration()
          ? config.hang_bound
          : 2 * config.completion_timeout + absl::Seconds(10);
  const absl::Duration run_bound =
      config.run_bound > absl::ZeroDuration()
          ? config.run_bound
          : absl::Seconds(config.seconds) + absl::Seconds(600);
  // The one watchdog covers the whole run: building, the load, teardown.
  Watchdog watchdog(hang_bound, run_bound);
  StressResult result;
  {
    StressRun run(config, watchdog);
    if (absl::Status built = run.Build(); !built.ok()) return built;
    run.Run();
    result = run.Collect();
    if (absl::Status checked = run.Check(result); !checked.ok()) {
      return checked;
    }
  }
  return result;
}

}  // namespace bench
