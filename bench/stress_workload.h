// bench/stress_workload.h: VMs, vCPUs and devices under a checked load.
//
// RunStress() builds the whole path: an emulated hypervisor with `vms` VMs
// of `vcpus` vCPUs, one HSM with its dispatcher, and per VM a 16550 UART
// client (ports 0x3F8..0x3FF), `clients` MMIO BAR clients (BAR i at
// 0xE0000000 + i * 64 KiB), the ioeventfd client with one eventfd doorbell
// at 0xD0000000, and a device-model thread as the default client with a PCI
// configuration space behind 0xCF8/0xCFC. Then each vCPU thread issues a
// seeded random mix of accesses and checks every one end to end:
//   - a read returns what the vCPU knows it must (its own slice of each
//     BAR, its own PCI scratch register, device IDs, UART status, all-ones
//     for absent devices and disabled config cycles, 0 from a doorbell);
//   - a write reaches its device: UART bytes and eventfd signals are
//     counted on the device side and compared at the end.
// A vCPU that waits longer than `completion_timeout` counts its request as
// lost and stops. Configuration cycles (0xCF8 then 0xCFC) are made under a
// per-VM lock, as a guest kernel makes them under pci_config_lock.
//
// Faults (bench/stress_faults.h) are injected while the load runs when
// `faults` enables them; each request records which faults touched it, and
// the oracle relaxes only what a fault may legally change:
//   - stall, pause and drop change nothing but timing: every request they
//     touch must complete with the right value;
//   - clear and destroy may complete a request without emulating it: the
//     value of a request they touched is not checked, and what it wrote is
//     no longer known (its bytes of the shadow are forgotten, its UART byte
//     or doorbell signal is counted as uncertain);
//   - garbage may wedge a slot, or forge a request that writes any device:
//     a touched request may end any way (the vCPU gives up after
//     `wedge_timeout` and resets its VM), and no value or delivery is
//     checked while garbage is on. Exactly once is then checked only for
//     slots garbage never reached.
// Always: a request no fault touched completes within completion_timeout
// (else it is lost), and no slot completes more often than its vCPU took
// completions. A watchdog reports a thread that makes no progress.
//
// Example:
//   bench::StressConfig config;
//   config.vcpus = 4;
//   absl::StatusOr<bench::StressResult> r = bench::RunStress(config);
//   if (r.ok() && r->clean()) ...
#ifndef IOREQ_BENCH_STRESS_WORKLOAD_H_
#define IOREQ_BENCH_STRESS_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/latency_histogram.h"
#include "bench/stress_faults.h"
#include "core/hsm/hsm.h"
#include "core/notify/strategy.h"
#include "core/placement/placement.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/profile/profile.h"

namespace bench {

// Who makes the requests: vCPU threads that call a function per access
// (ioreq::EmulatedHypervisor), or KVM vCPUs trapping a guest's port and
// MMIO instructions (ioreq::KvmHypervisor; the guest, guests/guest.c, runs
// the same mix and checks each value itself, and the host tells it which
// requests a fault touched).
enum class Producer { kEmulated, kKvm };
const char* ProducerName(Producer producer);  // "emulated", "kvm"
absl::StatusOr<Producer> ParseProducer(const std::string& name);

// A bug planted in the harness's devices, never in the model, to show that
// the oracle reports what it says it does (`--plant`): the run must find it
// and exit 1.
//   wrong_read  an MMIO BAR answers one read in kPlantedEvery with one bit
//               flipped: a wrong value the vCPU must report;
//   lost_write  the UART drops one written byte in kPlantedEvery: a write
//               the device never got, which the byte count and sum must
//               report;
//   stray_finish  a device model's thread sends the finish ioctl for
//               requests it does not hold (every 500 us, each vCPU in
//               turn): the HSM refuses them, and the oracle must report
//               refused completions that no fault explains.
enum class PlantedBug { kNone, kWrongRead, kLostWrite, kStrayFinish };
inline constexpr PlantedBug kAllPlantedBugs[] = {
    PlantedBug::kNone, PlantedBug::kWrongRead, PlantedBug::kLostWrite,
    PlantedBug::kStrayFinish};
inline constexpr int kPlantedEvery = 13;
const char* PlantedBugName(PlantedBug bug);  // "none", "wrong_read", ...
// What --plant accepts: "none, wrong_read, lost_write or stray_finish".
const std::string& PlantedBugNameList();
absl::StatusOr<PlantedBug> ParsePlantedBug(const std::string& name);

struct StressConfig {
  Producer hypervisor = Producer::kEmulated;
  // The world around the HSM (core/profile/profile.h): under `acrn` the
  // hypervisor's vPCI answers some configuration accesses, polling is the
  // VM's, a vCPU wakes once per request, and the device model scans for
  // PROCESSING && !kernel_handled.
  ioreq::Profile profile = ioreq::Profile::kHardened;
  // The doorbell's path: an ioeventfd (a slot, the HSM's ioeventfd client)
  // or a posted write (the VM's posted ring: no slot, no wait) [posted].
  bool posted_doorbell = false;
  ioreq::Strategy strategy = ioreq::Strategy::kEventfd;
  ioreq::Topology topology = ioreq::Topology::kKernel;
  int vms = 1;
  int vcpus = 2;        // per VM, 1..16
  int clients = 2;      // MMIO BAR clients per VM, 1..64 (kvm: 1..8)
  // In all, split across vCPUs (if seconds == 0). A KVM guest's last
  // configuration cycle may take one request past its share.
  int64_t requests = 20000;
  double seconds = 0;   // run for this long instead, if > 0
  bool polling = false; // completion_polling: vCPUs poll instead of sleeping
  // Where the vCPU threads and the HSM's threads (dispatcher, clients,
  // device models) run (core/placement/); the fault and progress threads
  // are never pinned.
  ioreq::Placement placement;
  uint64_t seed = 1;
  absl::Duration completion_timeout = absl::Seconds(10);
  // A noise thread makes spurious upcalls and completion notifications
  // while the load runs: every waiter must tolerate waking for nothing.
  bool spurious_wakeups = false;
  // Open loop: each vCPU issues at this many requests per second, on a
  // fixed schedule, and latency is measured from each request's intended
  // issue time (no coordinated omission). 0: closed loop, the next request
  // as soon as the last completes.
  double offered_rate_per_vcpu = 0;
  // Faults to inject while the load runs, and their rates.
  FaultConfig faults;
  // > 0: print a progress line to stderr every this many seconds.
  double progress_s = 0;
  // The model's [rescan] (HsmOptions::rescan_interval and the hypervisor's
  // completion rescan). Off only to show what a lost notification does
  // without it.
  bool rescan = true;
  // HsmOptions::service_poll: after work, the dispatcher and the clients
  // poll this long before they sleep (0 to 1 ms; 0: they sleep at once).
  absl::Duration service_poll = absl::ZeroDuration();
  // HsmOptions::carry_wakes and its vCPU half: each side holds its wakes
  // and sends them with its next sleep (one call with `uring`).
  bool carry_wakes = false;
  // The watchdog (one, for the whole run): a thread that makes no progress
  // for `hang_bound` is reported as hung (which thread, where, the slot
  // states) and the process exits 1; so does a run that has not ended
  // within `run_bound`. 0: twice the completion timeout plus 10 s, and
  // `seconds` plus 600 s.
  absl::Duration hang_bound = absl::ZeroDuration();
  absl::Duration run_bound = absl::ZeroDuration();
  // kNone in every measured run: see PlantedBug.
  PlantedBug planted_bug = PlantedBug::kNone;
};

// Checks every field; the error names the field and what it accepts. A
// strategy or hypervisor this machine cannot offer (io_uring refused, KVM
// unusable) is FailedPrecondition, naming what it lacks.
absl::Status ValidateStressConfig(const StressConfig& config);

struct StressResult {
  uint64_t issued = 0;
  uint64_t completed = 0;
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t wrong_value = 0;
  uint64_t undelivered_writes = 0;
  // --plant: the bugs put into the devices (answers flipped, bytes
  // dropped, stray finishes sent); 0 in a real run. With no fault beside
  // it, wrong_value (wrong_read) or undelivered_writes (lost_write) equals
  // it: each planted bug reported once.
  uint64_t planted = 0;
  LatencyHistogram round_trip_ns;  // as each vCPU saw it
  double elapsed_s = 0;
  double cpu_s = 0;  // process CPU time during the load
  uint64_t syscalls = 0;  // wake and sleep system calls of every doorbell
  ioreq::HsmStats hsm;
  ioreq::HypervisorStats hypervisor;
  std::vector<std::string> problems;  // the first few, readable

  // With faults: per fault, what it did (indexed by Fault).
  FaultTallies faults{};
  uint64_t vm_resets = 0;           // VM resets (clear fault and recoveries)
  uint64_t vm_reset_failures = 0;   // retried: a vCPU still waited
  uint64_t changed_by_garbage = 0;  // reads that differed while garbage ran
  uint64_t fault_errors = 0;        // a fault thread could not do its job
  uint64_t guest_errors = 0;  // KVM: a guest stopped, or miscounted its accesses
  // `acrn`: the device model emulated a request whose finish the HSM
  // refused (not its own: a double emulation), and requests it emulated
  // during a VM reset and left to the clear.
  uint64_t dm_finish_refused = 0;
  uint64_t dm_postponed = 0;
  int slots_checked_exactly_once = 0;  // slots the per-slot balance covered
  int slots_tainted = 0;               // ... and slots garbage reached

  bool clean() const {
    return lost == 0 && duplicated == 0 && wrong_value == 0 &&
           undelivered_writes == 0 && fault_errors == 0 && guest_errors == 0;
  }
  double requests_per_s() const {
    return elapsed_s > 0 ? static_cast<double>(completed) / elapsed_s : 0;
  }
  double syscalls_per_request() const {
    return completed ? static_cast<double>(syscalls) / completed : 0;
  }
  double cpu_ns_per_request() const {
    return completed ? cpu_s * 1e9 / static_cast<double>(completed) : 0;
  }
};

absl::StatusOr<StressResult> RunStress(const StressConfig& config);

// One JSON object (documented in docs/stress.md), with every HSM counter.
std::string StressJson(const StressConfig& config, const StressResult& result);
// A readable summary, several lines.
std::string StressText(const StressConfig& config, const StressResult& result);

}  // namespace bench

#endif  // IOREQ_BENCH_STRESS_WORKLOAD_H_
