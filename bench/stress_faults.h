// bench/stress_faults.h: the faults the stress command injects under load.
//
// Each fault is something that goes wrong while the I/O request path is
// busy; the stress workload (bench/stress_workload.h) injects the ones a
// FaultConfig enables and accounts, per fault, for every request it touched
// and how that request ended:
//   garbage  another thread writes random bytes into random fields (the
//            state word included) of random slots of random VMs: a buggy
//            or hostile hypervisor;
//   stall    an MMIO client's handler sleeps now and then;
//   destroy  an MMIO client is destroyed and re-created while requests are
//            in flight;
//   clear    a VM is reset (pause, clear requests, reset, resume) while
//            requests are pending;
//   pause    the dispatcher is paused and resumed;
//   drop     one notification in N is lost: an upcall (hypervisor -> HSM)
//            or a completion notification (HSM -> vCPU); the model's
//            [rescan] must find the request anyway.
//
// Example:
//   absl::StatusOr<uint32_t> mask = bench::ParseFaultList("stall,drop");
//   bench::FaultConfig faults;
//   faults.enabled = *mask;
//   if (faults.on(bench::Fault::kDrop)) ...
#ifndef IOREQ_BENCH_STRESS_FAULTS_H_
#define IOREQ_BENCH_STRESS_FAULTS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace bench {

enum class Fault { kGarbage, kStall, kDestroy, kClear, kPause, kDrop };
inline constexpr int kFaultCount = 6;
inline constexpr std::array<Fault, kFaultCount> kAllFaults = {
    Fault::kGarbage, Fault::kStall, Fault::kDestroy,
    Fault::kClear,   Fault::kPause, Fault::kDrop};

const char* FaultName(Fault fault);  // "garbage", "stall", ...
constexpr uint32_t FaultBit(Fault fault) {
  return uint32_t{1} << static_cast<int>(fault);
}
inline constexpr uint32_t kEveryFault = (uint32_t{1} << kFaultCount) - 1;

// The faults ACRN's own design survives, which `--faults=all` means under
// the `acrn` profile (core/profile/profile.h): its vCPU has no rescan, so a
// lost completion notification (drop) hangs it for ever, and a hostile
// hypervisor writing the page (garbage) is outside what ACRN defends
// against (a vCPU woken with its slot not COMPLETE resumes without a
// value). Named explicitly under `acrn`, drop and garbage run, and the harm
// is counted: lost requests, vCPUs released without a value, #GP.
inline constexpr uint32_t kFaultsAcrnSurvives =
    FaultBit(Fault::kStall) | FaultBit(Fault::kDestroy) |
    FaultBit(Fault::kClear) | FaultBit(Fault::kPause);

// "", "none" -> 0; "all" -> every fault; else a comma-separated list of
// names (each once). The error names the bad entry and the accepted names.
absl::StatusOr<uint32_t> ParseFaultList(absl::string_view list);

struct FaultConfig {
  uint32_t enabled = 0;  // FaultBit()s
  double garbage_per_s = 2000;    // bytes written, all VMs together
  int stall_every = 200;          // one MMIO handler call in N stalls
  absl::Duration stall = absl::Milliseconds(1);
  int destroy_every = 2000;       // requests (all vCPUs) between destroys
  absl::Duration clear_every = absl::Milliseconds(200);
  absl::Duration pause_every = absl::Milliseconds(50);
  absl::Duration pause_for = absl::Microseconds(500);
  int drop_every = 50;            // one notification in N is lost
  // A vCPU whose request garbage touched gives up on it after this long
  // (the slot may be wedged) and has its VM reset.
  absl::Duration wedge_timeout = absl::Milliseconds(100);

  bool on(Fault fault) const { return (enabled & FaultBit(fault)) != 0; }
  bool any() const { return enabled != 0; }
};

// Checks every rate; the error names the flag and what it accepts.
absl::Status ValidateFaultConfig(const FaultConfig& config);

// What one fault did: how often it was injected, and how the requests it
// touched ended. A request touched by two faults counts under both.
struct FaultTally {
  uint64_t injected = 0;
  uint64_t touched = 0;         // requests in flight (or issued) meanwhile
  uint64_t completed = 0;       // completed, value as the device says
  uint64_t other_value = 0;     // completed, with another value than the
                                // device's (not emulated, or garbled)
  uint64_t all_ones = 0;        // ... of which all-ones (rejected or absent)
  uint64_t gave_up = 0;         // garbage: wedged; vCPU gave up, VM reset
  uint64_t insert_refused = 0;  // garbage: slot left not FREE; VM reset
  void Merge(const FaultTally& other);
};
using FaultTallies = std::array<FaultTally, kFaultCount>;

}  // namespace bench

#endif  // IOREQ_BENCH_STRESS_FAULTS_H_
