// bench/stress_main.cc: `bazel run //bench:stress -- FLAGS`.
//
// Drives the whole I/O request path with checked requests (see
// bench/stress_workload.h) and prints a summary, or one JSON object with
// --json. Exit 0 when nothing was lost, duplicated or wrong; 1 when
// something was (or the watchdog fired); 2 for a bad flag.

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/stress_workload.h"
#include "core/notify/strategy.h"
#include "core/notify/uring_doorbell.h"
#include "tools/flags/strict_flags.h"

ABSL_FLAG(std::string, hypervisor, "emulated",
          "who makes the requests: emulated (vCPU threads that call a "
          "function) or kvm (KVM vCPUs running a guest that traps; needs "
          "/dev/kvm)");
ABSL_FLAG(std::string, profile, "hardened",
          "the world around the HSM: hardened (the model's hypervisor and "
          "device model) or acrn (ACRN's: vPCI in the hypervisor, per-VM "
          "polling, one wake per request, a device model that scans for "
          "PROCESSING && !kernel_handled); docs/profiles.md");
ABSL_FLAG(std::string, doorbell, "ioeventfd",
          "the doorbell's path: ioeventfd (a slot and the HSM's ioeventfd "
          "client) or posted (the VM's posted-write ring: no slot, no wait)");
ABSL_FLAG(std::string, strategy, "eventfd",
          "notification strategy: " + ioreq::StrategyNameList());
ABSL_FLAG(std::string, topology, "kernel",
          "kernel (hypervisor -> dispatcher -> client) or direct (clients "
          "claim from the shared page)");
ABSL_FLAG(bool, uring_sqpoll, false,
          "with --strategy=uring: notifier rings use SQPOLL");
ABSL_FLAG(int, vms, 1, "VMs, 1 to 64");
ABSL_FLAG(int, vcpus, 2, "vCPUs per VM (producer threads), 1 to 16");
ABSL_FLAG(int, clients, 2,
          "in-process MMIO BAR clients per VM, 1 to 64 (the UART, ioeventfd "
          "and device-model clients come on top)");
ABSL_FLAG(int64_t, requests, 20000,
          "requests in all, split across the vCPUs (ignored with --seconds)");
ABSL_FLAG(double, seconds, 0, "run for this many seconds instead, 0 to 86400");
ABSL_FLAG(std::string, pin, "none",
          "where threads run: none, same-core (vCPUs and HSM on one CPU), "
          "cross-core (vCPUs on one, the HSM on another), or V/H with CPU "
          "lists (e.g. 0/1)");
ABSL_FLAG(bool, polling, false,
          "vCPUs poll for completion (completion_polling = 1) instead of "
          "sleeping until notified");
ABSL_FLAG(uint64_t, seed, 1, "seed of the access mix");
ABSL_FLAG(double, rate, 0,
          "open loop: requests per second per vCPU, latency measured from "
          "each request's intended issue time; 0 = closed loop");
ABSL_FLAG(bool, json, false, "print one JSON object instead of a summary");
ABSL_FLAG(int, timeout_ms, 10000,
          "a vCPU waiting longer than this for one request counts it lost, "
          "1 to 3600000");
ABSL_FLAG(int, watchdog_s, 0,
          "fail (exit 1) if the whole run takes longer than this, 0 to 86400 "
          "(0: --seconds plus 600, or 600 with --requests)");
ABSL_FLAG(std::string, faults, "",
          "faults to inject under load: all, none, or a comma-separated "
          "list of garbage, stall, destroy, clear, pause, drop");
ABSL_FLAG(double, garbage_per_s, 2000,
          "garbage: random bytes written into random slots per second");
ABSL_FLAG(int, stall_every, 200, "stall: one MMIO handler call in N sleeps");
ABSL_FLAG(int, stall_us, 1000, "stall: how long it sleeps, microseconds");
ABSL_FLAG(int, destroy_every, 2000,
          "destroy: a BAR client is destroyed and re-created every N requests");
ABSL_FLAG(int, clear_every_ms, 200, "clear: a VM is reset every N ms");
ABSL_FLAG(int, pause_every_ms, 50, "pause: the dispatcher is paused every N ms");
ABSL_FLAG(int, pause_us, 500, "pause: ... for this many microseconds");
ABSL_FLAG(int, drop_every, 50,
          "drop: one upcall and one completion notification in N are lost");
ABSL_FLAG(int, wedge_ms, 100,
          "garbage: a vCPU gives up on a request garbage touched after N ms "
          "and resets its VM");
ABSL_FLAG(bool, rescan, true,
          "the model's rescan after a lost notification; --norescan shows "
          "what --faults=drop does without it");
ABSL_FLAG(int, service_poll_us, 0,
          "after work, the dispatcher and the clients poll this many "
          "microseconds before they sleep, 0 to 1000 (0: they sleep at once)");
ABSL_FLAG(bool, carry_wakes, false,
          "the vCPUs, the dispatcher and the clients hold their wakes and "
          "send them with their next sleep: one io_uring_enter with "
          "--strategy=uring (docs/performance.md)");
ABSL_FLAG(double, progress_s, 0,
          "print a progress line to stderr every N seconds (0: none)");
ABSL_FLAG(std::string, plant, "none",
          "plant a bug in the harness's devices to see the oracle report it "
          "(exit 1): none, wrong_read (a BAR flips a bit of one read in 13), "
          "lost_write (the UART drops one written byte in 13), stray_finish "
          "(a thread finishes requests it does not hold)");
ABSL_FLAG(bool, soak, false,
          "soak: every fault on (unless --faults says otherwise), progress "
          "every 5 s, and 600 s unless --seconds says otherwise");

int main(int argc, char** argv) {
  const std::vector<std::string> rest = tools::ParseFlagsOrExit(
      argc, argv,
      "stress: drive the ACRN I/O request path with checked requests.\n"
      "usage: bazel run //bench:stress -- [--hypervisor=emulated|kvm] "
      "[--profile=hardened|acrn] [--doorbell=ioeventfd|posted] "
      "[--strategy=S] [--topology=T] [--pin=P] "
      "[--vms=N] [--vcpus=N] "
      "[--clients=N] [--requests=N | --seconds=S] [--polling] [--json]\n"
      "       [--faults=all|LIST] [--soak] [--progress_s=S] "
      "[--plant=none|wrong_read|lost_write|stray_finish]");
  if (!rest.empty()) {
    std::fprintf(stderr, "stress: unexpected argument '%s' (see --help)\n",
                 rest[0].c_str());
    return tools::kExitUsage;
  }
  bench::StressConfig config;
  // Parsed here, at the edge, into the enums the rest of the run uses.
  const std::string hypervisor = absl::GetFlag(FLAGS_hypervisor);
  absl::StatusOr<bench::Producer> producer = bench::ParseProducer(hypervisor);
  if (!producer.ok()) {
    tools::FlagError("hypervisor", hypervisor, "emulated or kvm");
  }
  config.hypervisor = *producer;
  const std::string profile = absl::GetFlag(FLAGS_profile);
  absl::StatusOr<ioreq::Profile> parsed_profile = ioreq::ParseProfile(profile);
  if (!parsed_profile.ok()) {
    tools::FlagError("profile", profile, "acrn or hardened");
  }
  config.profile = *parsed_profile;
  const std::string doorbell = absl::GetFlag(FLAGS_doorbell);
  if (doorbell != "ioeventfd" && doorbell != "posted") {
    tools::FlagError("doorbell", doorbell, "ioeventfd or posted");
  }
  config.posted_doorbell = doorbell == "posted";
  const std::string strategy = absl::GetFlag(FLAGS_strategy);
  absl::StatusOr<ioreq::Strategy> parsed_strategy = ioreq::ParseStrategy(strategy);
  if (!parsed_strategy.ok()) {
    tools::FlagError("strategy", strategy,
                     ("one of: " + ioreq::StrategyNameList()).c_str());
  }
  config.strategy = *parsed_strategy;
  const std::string topology = absl::GetFlag(FLAGS_topology);
  absl::StatusOr<ioreq::Topology> parsed_topology = ioreq::ParseTopology(topology);
  if (!parsed_topology.ok()) {
    tools::FlagError("topology", topology, "one of: kernel, direct");
  }
  config.topology = *parsed_topology;
  ioreq::SetUringSqpoll(absl::GetFlag(FLAGS_uring_sqpoll));
  config.vms = absl::GetFlag(FLAGS_vms);
  config.vcpus = absl::GetFlag(FLAGS_vcpus);
  config.clients = absl::GetFlag(FLAGS_clients);
  config.requests = absl::GetFlag(FLAGS_requests);
  config.seconds = absl::GetFlag(FLAGS_seconds);
  config.polling = absl::GetFlag(FLAGS_polling);
  const std::string pin = absl::GetFlag(FLAGS_pin);
  absl::StatusOr<ioreq::Placement> placement = ioreq::ParsePlacement(pin);
  if (!placement.ok()) {
    std::fprintf(stderr, "stress: %s\n",
                 std::string(placement.status().message()).c_str());
    return tools::kExitUsage;
  }
  config.placement = *placement;
  config.seed = absl::GetFlag(FLAGS_seed);
  config.offered_rate_per_vcpu = absl::GetFlag(FLAGS_rate);
  const bool soak = absl::GetFlag(FLAGS_soak);
  std::string faults = absl::GetFlag(FLAGS_faults);
  if (soak && faults.empty()) faults = "all";
  absl::StatusOr<uint32_t> fault_mask = bench::ParseFaultList(faults);
  if (!fault_mask.ok()) {
    std::fprintf(stderr, "stress: --faults=%s: %s\n", faults.c_str(),
                 std::string(fault_mask.status().message()).c_str());
    return tools::kExitUsage;
  }
  config.faults.enabled = *fault_mask;
  if (faults == "all" && config.profile == ioreq::Profile::kAcrn) {
    config.faults.enabled = bench::kFaultsAcrnSurvives;  // see stress_faults.h
  }
  config.faults.garbage_per_s = absl::GetFlag(FLAGS_garbage_per_s);
  config.faults.stall_every = absl::GetFlag(FLAGS_stall_every);
  config.faults.stall = absl::Microseconds(absl::GetFlag(FLAGS_stall_us));
  config.faults.destroy_every = absl::GetFlag(FLAGS_destroy_every);
  config.faults.clear_every = absl::Milliseconds(absl::GetFlag(FLAGS_clear_every_ms));
  config.faults.pause_every = absl::Milliseconds(absl::GetFlag(FLAGS_pause_every_ms));
  config.faults.pause_for = absl::Microseconds(absl::GetFlag(FLAGS_pause_us));
  config.faults.drop_every = absl::GetFlag(FLAGS_drop_every);
  config.faults.wedge_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_wedge_ms));
  config.rescan = absl::GetFlag(FLAGS_rescan);
  config.service_poll = absl::Microseconds(absl::GetFlag(FLAGS_service_poll_us));
  config.carry_wakes = absl::GetFlag(FLAGS_carry_wakes);
  const std::string plant = absl::GetFlag(FLAGS_plant);
  absl::StatusOr<bench::PlantedBug> planted = bench::ParsePlantedBug(plant);
  if (!planted.ok()) {
    tools::FlagError("plant", plant, bench::PlantedBugNameList().c_str());
  }
  config.planted_bug = *planted;
  config.progress_s = absl::GetFlag(FLAGS_progress_s);
  if (soak) {
    if (config.seconds == 0) config.seconds = 600;
    if (config.progress_s == 0) config.progress_s = 5;
  }
  const int timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  if (timeout_ms < 1 || timeout_ms > 3600000) {
    tools::FlagError("timeout_ms", timeout_ms, "1 to 3600000");
  }
  config.completion_timeout = absl::Milliseconds(timeout_ms);
  int watchdog_s = absl::GetFlag(FLAGS_watchdog_s);
  if (watchdog_s < 0 || watchdog_s > 86400) {
    tools::FlagError("watchdog_s", watchdog_s, "0 to 86400");
  }
  config.run_bound = absl::Seconds(watchdog_s);  // 0: --seconds plus 600
  if (absl::Status valid = bench::ValidateStressConfig(config); !valid.ok()) {
    std::fprintf(stderr, "stress: %s\n", std::string(valid.message()).c_str());
    return tools::kExitUsage;
  }

  // A hung thread must not hang the command: RunStress()'s watchdog names
  // it and ends the process with exit code 1.
  absl::StatusOr<bench::StressResult> result = bench::RunStress(config);
  if (!result.ok()) {
    std::fprintf(stderr, "stress: %s\n", result.status().ToString().c_str());
    return tools::kExitProblem;
  }
  const std::string out = absl::GetFlag(FLAGS_json)
                              ? bench::StressJson(config, *result) + "\n"
                              : bench::StressText(config, *result);
  std::fputs(out.c_str(), stdout);
  return result->clean() ? tools::kExitOk : tools::kExitProblem;
}
