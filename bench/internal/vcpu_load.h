// bench/internal/vcpu_load.h: one vCPU thread of the stress workload.
//
// VcpuLoad issues a seeded mix of accesses through the emulated hypervisor
// and checks each end to end against what it knows the devices hold (see
// bench/stress_workload.h). Around every request it snapshots the fault
// marks (Marks), learns which faults touched it (Completion::touched), and
// settles it: checked strictly, or, where a fault may legally have changed
// it, tallied per fault and forgotten.
#ifndef IOREQ_BENCH_INTERNAL_VCPU_LOAD_H_
#define IOREQ_BENCH_INTERNAL_VCPU_LOAD_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/internal/stress_rig.h"
#include "bench/latency_histogram.h"
#include "core/hsm/cf8cfc.h"
#include "core/abi/slot_state.h"

namespace bench {
namespace stress_internal {

inline uint32_t ConfigAddress(uint32_t bus, uint32_t dev, uint32_t func,
                       uint32_t reg, bool enable = true) {
  return (enable ? ioreq::kPciConfigEnable : 0) | (bus << 16) | (dev << 11) |
         (func << 8) | (reg & 0xFC);
}

struct PciId {
  uint32_t bus, dev, func, id;
};
// What the standard devices answer at register 0, and one absent function.
inline constexpr std::array<PciId, 5> kPciIds = {{
    {0, 0, 0, 0x12378086},
    {0, 3, 0, 0x10001AF4},
    {0, 4, 0, 0x00051B36},
    {1, 0, 0, 0x10011AF4},
    {0, 7, 0, 0xFFFFFFFF},
}};

// Which faults' counters a request saw move.
struct Marks {
  uint64_t garbage = 0, clean = 0, stall = 0, drop = 0, clear = 0,
           destroy = 0, pause = 0;
};

// How an issued request ended, for the access that issued it.
struct Completion {
  enum End {
    kCompleted,  // completed; `value` holds a read's value
    kNoValue,    // garbage wedged or refused it; the VM was reset
    kStop,       // lost: the vCPU is stuck and stops
  } end = kCompleted;
  uint32_t touched = 0;  // FaultBit()s of the faults that touched it
  uint64_t value = 0;
  bool verifiable() const {
    return end == kCompleted && (touched & kRelaxingFaults) == 0;
  }
};

// One vCPU thread's load and what it found.
class VcpuLoad {
 public:
  VcpuLoad(RunState* h, VmRig* vm, uint32_t vcpu, uint64_t quota,
           Heartbeat* heartbeat)
      : h_(h), hv_(&h->hv), vm_(vm), vcpu_(vcpu), config_(h->config),
        quota_(quota), heartbeat_(heartbeat),
        rng_(config_.seed * 0x9E3779B97F4A7C15ull + vm->vmid * 64 + vcpu),
        shadow_(static_cast<size_t>(config_.clients)),
        known_(static_cast<size_t>(config_.clients)) {
    for (auto& k : known_) k.fill(true);  // the BARs start zeroed, as known
  }

  // Emulated producer: this thread issues the mix until `deadline` (timed
  // runs) or its quota.
  void Run(absl::Time deadline);

  // KVM producer: one access a guest trapped (guests/guest.c runs the mix
  // and checks the values). Issues it with the same fault accounting; a
  // request a relaxing fault touched, or one left without a value, bumps
  // `*relaxed` (the guest's relaxed[vcpu]) before the guest resumes, so the
  // guest does not check it. DataLoss if the request was lost: the vCPU
  // stops, as an emulated one does.
  absl::Status Trapped(ioreq::IoAccess& access, volatile uint32_t* relaxed);
  // The vCPU's run is over (KVM producer).
  void Finished() { heartbeat_->finished.store(true, std::memory_order_relaxed); }
  // Takes a guest's findings (KVM producer): its wrong values, with its
  // own message for the first.
  void GuestFound(uint32_t failures, const std::string& message);

  LatencyHistogram histogram;
  // Read by the progress thread while the load runs.
  std::atomic<uint64_t> issued{0}, completed{0}, lost{0}, wrong{0};
  uint64_t taken = 0;  // completions this vCPU took from its slot
  uint64_t changed_by_garbage = 0;
  FaultTallies tallies{};
  std::vector<std::string> problems;

 private:
  // One trapped access, with the faults around it accounted.
  Completion Issue(const ioreq::IoAccess& access);
  // Settles a completed read against what the device must have answered
  // (nullopt: not known, e.g. after a fault lost a write).
  void SettleRead(const char* what, const Completion& c,
                  std::optional<uint64_t> want, uint64_t size);
  void SettleWrite(const Completion& c);
  Marks Snapshot(bool bar_access) const;
  uint32_t Touched(const Marks& before, const Marks& after) const;
  void Recover(bool abandon);
  void Problem(std::string text) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(text));
  }
  uint64_t Size() { return uint64_t{1} << (rng_() % 4); }

  bool MmioWrite();
  bool MmioRead();
  bool UartStatus();
  bool UartTransmit();
  bool PciIdRead();
  bool PciScratch();
  bool PciDisabled();
  bool DoorbellWrite();
  bool DoorbellRead();
  bool Unclaimed();

  RunState* const h_;
  ioreq::EmulatedHypervisor* const hv_;
  VmRig* const vm_;
  const uint32_t vcpu_;
  const StressConfig& config_;
  const uint64_t quota_;
  Heartbeat* const heartbeat_;
  std::mt19937_64 rng_;
  std::vector<std::array<uint8_t, kShadowBytes>> shadow_;  // per BAR
  std::vector<std::array<bool, kShadowBytes>> known_;      // shadow is true
  uint32_t scratch_ = 0;       // this vCPU's PCI scratch register
  bool scratch_known_ = true;  // ... unless a fault touched its last write
  absl::Time load_start_;
};

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_VCPU_LOAD_H_
