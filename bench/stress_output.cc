// StressJson() and StressText(), declared in bench/stress_workload.h.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/stress_workload.h"
#include "core/notify/strategy.h"

namespace bench {

namespace {

// The "faults" member and its companions, with a trailing ", "; empty when
// no fault was on.
std::string FaultsJson(const StressConfig& c, const StressResult& r) {
  if (!c.faults.any()) return "";
  std::vector<std::string> faults;
  for (Fault f : kAllFaults) {
    if (!c.faults.on(f)) continue;
    const FaultTally& t = r.faults[static_cast<int>(f)];
    faults.push_back(absl::StrFormat(
        "\"%s\": {\"injected\": %u, \"touched\": %u, \"completed\": %u, "
        "\"other_value\": %u, \"all_ones\": %u, \"gave_up\": %u, "
        "\"insert_refused\": %u}",
        FaultName(f), t.injected, t.touched, t.completed, t.other_value,
        t.all_ones, t.gave_up, t.insert_refused));
  }
  return absl::StrFormat(
      "\"faults\": {%s}, \"vm_resets\": %u, \"vm_reset_failures\": %u, "
      "\"changed_by_garbage\": %u, \"slots_checked_exactly_once\": %d, "
      "\"slots_tainted\": %d, \"fault_errors\": %u, ",
      absl::StrJoin(faults, ", "), r.vm_resets, r.vm_reset_failures,
      r.changed_by_garbage, r.slots_checked_exactly_once, r.slots_tainted,
      r.fault_errors);
}

// What the model itself counted that bears on a fault.
std::string ModelCounts(Fault f, const StressResult& r) {
  const ioreq::HsmStats& h = r.hsm;
  switch (f) {
    case Fault::kGarbage:
      return absl::StrFormat(
          "%u rejected as invalid, %u ownership lost, %u stale completions "
          "refused, %u left unmarked to the default client, %u requests "
          "abandoned",
          h.rejected_invalid, h.ownership_lost, h.spurious_completions,
          h.left_to_default, r.hypervisor.abandoned);
    case Fault::kClear:
      return absl::StrFormat("%u completed by clear, %u forced by clear",
                             h.completed_while_clearing, h.forced_by_clear);
    case Fault::kDestroy:
      return absl::StrFormat(
          "%u handed over to the default client, %u answered all-ones",
          h.handed_over_on_destroy, h.completed_on_destroy);
    case Fault::kDrop:
      return absl::StrFormat(
          "%u found by the HSM's rescan, %u completions found by the vCPU's",
          h.rescued_by_rescan, r.hypervisor.rescued_by_rescan);
    case Fault::kStall:
    case Fault::kPause:
      return "";
  }
  return "";
}

}  // namespace

// Every HSM counter, as one JSON object (hsm_stats.h lists them).
std::string HsmJson(const ioreq::HsmStats& stats) {
  std::vector<std::string> members;
  ioreq::ForEachHsmStat(stats, [&](const char* name, uint64_t value) {
    members.push_back(absl::StrFormat("\"%s\": %u", name, value));
  });
  return absl::StrCat("{", absl::StrJoin(members, ", "), "}");
}

std::string StressJson(const StressConfig& c, const StressResult& r) {
  return absl::StrFormat(
      "{\"hypervisor\": \"%s\", \"profile\": \"%s\", "
      "\"strategy\": \"%s\", \"topology\": "
      "\"%s\", \"pin\": \"%s\", \"vms\": %d, "
      "\"vcpus\": %d, \"clients\": %d, "
      "\"polling\": %s, \"carry_wakes\": %s, \"seed\": %u, \"issued\": %u, "
      "\"completed\": %u, "
      "\"lost\": %u, \"duplicated\": %u, \"wrong_value\": %u, "
      "\"undelivered_writes\": %u, \"p50_ns\": %u, \"p99_ns\": %u, "
      "\"p999_ns\": %u, \"max_ns\": %u, \"requests_per_s\": %.1f, "
      "\"cpu_ns_per_request\": %.1f, \"syscalls_per_request\": %.3f, "
      "\"elapsed_s\": %.3f, \"hsm\": %s, "
      "\"notifications\": %u, \"completions_rescued_by_rescan\": %u, "
      "\"guest_errors\": %u, \"handled_in_hypervisor\": %u, "
      "\"gp_injected\": %u, \"released_without_value\": %u, "
      "\"dm_finish_refused\": %u, \"dm_postponed\": %u, "
      "\"doorbell\": \"%s\", \"posted\": %u, \"posted_reads\": %u, "
      "\"posted_corrupt\": %u, \"plant\": \"%s\", \"planted\": %u, "
      "%s\"ok\": %s}",
      ProducerName(c.hypervisor), ioreq::ProfileName(c.profile),
      ioreq::StrategyName(c.strategy),
      ioreq::TopologyName(c.topology), c.placement.name, c.vms,
      c.vcpus, c.clients, c.polling ? "true" : "false",
      c.carry_wakes ? "true" : "false", c.seed, r.issued, r.completed, r.lost, r.duplicated, r.wrong_value, r.undelivered_writes,
      r.round_trip_ns.Percentile(50), r.round_trip_ns.Percentile(99),
      r.round_trip_ns.Percentile(99.9), r.round_trip_ns.max(),
      r.requests_per_s(), r.cpu_ns_per_request(), r.syscalls_per_request(),
      r.elapsed_s, HsmJson(r.hsm), r.hypervisor.notifications,
      r.hypervisor.rescued_by_rescan, r.guest_errors,
      r.hypervisor.handled_in_hypervisor, r.hypervisor.gp_injected,
      r.hypervisor.released_without_value, r.dm_finish_refused,
      r.dm_postponed, c.posted_doorbell ? "posted" : "ioeventfd",
      r.hypervisor.posted, r.hypervisor.posted_reads,
      r.hypervisor.posted_corrupt, PlantedBugName(c.planted_bug), r.planted,
      FaultsJson(c, r),
      r.clean() ? "true" : "false");
}

std::string StressText(const StressConfig& c, const StressResult& r) {
  std::string out = absl::StrFormat(
      "ioreq stress: %s hypervisor, profile %s, strategy %s, topology %s, "
      "pin %s, %d VM(s) x %d vCPU(s), %d BAR client(s), %s completion%s, "
      "seed %u\n",
      ProducerName(c.hypervisor), ioreq::ProfileName(c.profile),
      ioreq::StrategyName(c.strategy),
      ioreq::TopologyName(c.topology), c.placement.name, c.vms,
      c.vcpus, c.clients, c.polling ? "polling" : "notified",
      c.carry_wakes ? ", wakes carried by sleeps" : "", c.seed);
  if (c.planted_bug != PlantedBug::kNone) {
    absl::StrAppendFormat(
        &out, "  planted    %s%s (--plant): %u planted; the oracle must report them\n",
        PlantedBugName(c.planted_bug),
        c.planted_bug == PlantedBug::kStrayFinish
            ? ""
            : absl::StrFormat(", one access in %d", kPlantedEvery),
        r.planted);
  }
  absl::StrAppendFormat(
      &out,
      "  requests   issued %u, completed %u, lost %u, duplicated %u, "
      "wrong value %u, undelivered writes %u\n",
      r.issued, r.completed, r.lost, r.duplicated, r.wrong_value,
      r.undelivered_writes);
  absl::StrAppendFormat(
      &out, "  round trip p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
      r.round_trip_ns.Percentile(50) / 1e3, r.round_trip_ns.Percentile(99) / 1e3,
      r.round_trip_ns.Percentile(99.9) / 1e3, r.round_trip_ns.max() / 1e3);
  absl::StrAppendFormat(
      &out,
      "  throughput %.0f requests/s over %.2f s; CPU %.0f ns/request; "
      "%.2f syscalls/request\n",
      r.requests_per_s(), r.elapsed_s, r.cpu_ns_per_request(),
      r.syscalls_per_request());
  absl::StrAppendFormat(
      &out,
      "  HSM        %u passes, %u dispatched, %u PCI cycles folded, %u "
      "completed in place\n",
      r.hsm.dispatch_passes, r.hsm.dispatched, r.hsm.cf8cfc_converted,
      r.hsm.cf8cfc_in_place);
  if (c.posted_doorbell) {
    absl::StrAppendFormat(
        &out,
        "  posted     %u doorbell accesses posted (%u reads), %u signalled "
        "by the HSM, %u unknown, %u found the ring corrupt\n",
        r.hypervisor.posted, r.hypervisor.posted_reads,
        r.hsm.posted_signaled, r.hsm.posted_unknown,
        r.hypervisor.posted_corrupt);
  }
  if (c.profile == ioreq::Profile::kAcrn) {
    absl::StrAppendFormat(
        &out,
        "  acrn       %u completed by the hypervisor's vPCI; %u #GP "
        "injected; %u vCPUs released without a value; device model: %u "
        "finishes refused, %u left to a clear\n",
        r.hypervisor.handled_in_hypervisor, r.hypervisor.gp_injected,
        r.hypervisor.released_without_value, r.dm_finish_refused,
        r.dm_postponed);
  }
  if (c.faults.any()) {
    for (Fault f : kAllFaults) {
      if (!c.faults.on(f)) continue;
      const FaultTally& t = r.faults[static_cast<int>(f)];
      absl::StrAppendFormat(
          &out,
          "  fault %-7s injected %u; touched %u requests: %u completed as "
          "the device says, %u with another value (%u all-ones), %u given up "
          "(wedged), %u refused (slot not FREE)\n",
          FaultName(f), t.injected, t.touched, t.completed, t.other_value,
          t.all_ones, t.gave_up, t.insert_refused);
      const std::string model = ModelCounts(f, r);
      if (!model.empty()) absl::StrAppend(&out, "                model: ", model, "\n");
    }
    absl::StrAppendFormat(
        &out,
        "  VM resets  %u (%u retried); exactly once checked on %d slot(s), "
        "%d reached by garbage%s\n",
        r.vm_resets, r.vm_reset_failures, r.slots_checked_exactly_once,
        r.slots_tainted,
        c.faults.on(Fault::kGarbage)
            ? absl::StrFormat("; %u reads changed while garbage ran",
                              r.changed_by_garbage)
            : "");
  }
  if (c.hypervisor == Producer::kKvm) {
    absl::StrAppendFormat(&out, "  guests     %u error(s)\n", r.guest_errors);
  }
  for (const std::string& p : r.problems) absl::StrAppend(&out, "  PROBLEM: ", p, "\n");
  absl::StrAppend(&out, r.clean() ? "  result     OK: every request completed "
                                    "exactly once with the right value\n"
                                  : "  result     FAILED\n");
  return out;
}

}  // namespace bench
