// bench/internal/stress_rig.h: what the threads of one stress run share.
//
// VmRig is one VM's devices and the marks the fault threads leave on it;
// RunState is the run: the model, every VM, the fault counters and the VM
// reset every fault path uses; LossyHypervisorCalls loses completion
// notifications (the drop fault). Internal to bench/stress_workload.cc and its parts.
#ifndef IOREQ_BENCH_INTERNAL_STRESS_RIG_H_
#define IOREQ_BENCH_INTERNAL_STRESS_RIG_H_

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/internal/watchdog.h"
#include "bench/stress_faults.h"
#include "bench/stress_workload.h"
#include "core/harness/acrn_device_model.h"
#include "core/harness/device_model.h"
#include "core/harness/devices/mmio_bar.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/devices/uart16550.h"
#include "core/hsm/hsm.h"
#include "core/harness/system.h"
#include "core/abi/slot_decode.h"

namespace bench {
namespace stress_internal {

inline constexpr uint16_t kUartBase = 0x3F8;
inline constexpr uint64_t kBarBase = 0xE0000000;
inline constexpr uint64_t kBarSize = 0x10000;
inline constexpr uint64_t kVcpuWindow = kBarSize / ioreq::kIoRequestMax;
inline constexpr size_t kShadowBytes = 256;  // of each vCPU's window it checks
inline constexpr uint64_t kDoorbell = 0xD0000000;
inline constexpr uint64_t kUnclaimedPort = 0x80;
inline constexpr uint32_t kScratchDev = 4;   // 00:04.0, the test device
inline constexpr uint32_t kScratchBase = 0x40;
inline constexpr size_t kMaxProblems = 8;
inline constexpr size_t kStateOffset = offsetof(ioreq::IoRequest, processed);

// Faults that may complete a request without emulating it, or garble it:
// the value of a request they touched is not checked.
inline constexpr uint32_t kRelaxingFaults = FaultBit(Fault::kGarbage) |
                                            FaultBit(Fault::kClear) |
                                            FaultBit(Fault::kDestroy);

// One VM's devices, and what the vCPUs sent to them.
struct VmRig {
  // The devices answer as the profile's do [acrn-devices].
  explicit VmRig(ioreq::Profile profile = ioreq::Profile::kHardened)
      : uart(kUartBase, profile), pci(profile) {}

  uint16_t vmid = 0;
  ioreq::Uart16550 uart;
  std::vector<std::unique_ptr<ioreq::MmioBar>> bars;
  ioreq::PciConfigSpace pci;
  // The default client: the bitmap-serving device model (`hardened`) or
  // ACRN's scanning one (`acrn`); one of the two is set.
  std::unique_ptr<ioreq::DeviceModelThread> device_model;
  std::unique_ptr<ioreq::AcrnDeviceModelThread> acrn_device_model;
  int doorbell_fd = -1;
  std::mutex config_cycle;  // the guest's pci_config_lock
  std::atomic<uint64_t> thr_bytes{0}, thr_sum{0}, doorbell_writes{0};
  // Writes a fault touched: they may or may not have reached the device.
  std::atomic<uint64_t> uncertain_bytes{0}, uncertain_kicks{0};

  // What the fault threads did to this VM, read by its vCPUs around each
  // request. Every counter is bumped before the fault acts, so a request
  // that sees one unchanged across its whole life was not touched by it.
  struct alignas(64) SlotMarks {
    std::atomic<uint64_t> garbage{0};  // garbage writes into the slot
    std::atomic<uint64_t> clean{0};    // the garbage count a reset undid
    std::atomic<uint64_t> stall{0};    // stalls of the slot's requests
    std::atomic<uint64_t> drop{0};     // its notifications dropped
  };
  std::array<SlotMarks, ioreq::kIoRequestMax> marks;
  // Odd while a reset (clear) or a client re-creation (destroy) is under way.
  std::atomic<uint64_t> clear_epoch{0}, destroy_epoch{0};
  // Held by a reset and by each garbage write: no garbage lands during a
  // reset, so a reset that succeeds leaves every slot clean.
  std::mutex reset_mu;
  std::atomic<uint64_t> ring_garbage{0};  // garbage writes into the posted ring
  std::vector<ioreq::ClientId> bar_ids;  // the destroy thread's, after setup

  ~VmRig() {
    if (doorbell_fd >= 0) close(doorbell_fd);
  }
};

// What every thread of one run shares: the model, the devices, the faults.
struct RunState {
  RunState(const StressConfig& c, ioreq::EmulatedHypervisor& v,
          std::vector<std::unique_ptr<VmRig>>& r)
      : config(c), hv(v), rigs(r) {}

  const StressConfig& config;
  ioreq::EmulatedHypervisor& hv;
  ioreq::Hsm* hsm = nullptr;  // set once built, before any thread
  std::vector<std::unique_ptr<VmRig>>& rigs;  // indexed by vmid

  std::atomic<uint64_t> pause_epoch{0};  // odd while the HSM is paused
  std::atomic<uint64_t> issued{0};       // all vCPUs, for destroy's cadence
  std::array<std::atomic<uint64_t>, kFaultCount> injected{};
  std::atomic<uint64_t> handler_calls{0}, upcalls{0}, notifications{0};
  std::atomic<uint64_t> planted_calls{0};  // --plant's cadence
  // --plant: the bugs put in (answers flipped, bytes dropped, stray
  // finishes sent), for the oracle's count to be checked against.
  std::atomic<uint64_t> planted{0};
  std::atomic<uint64_t> resets{0}, reset_failures{0};
  std::mutex errors_mu;
  std::vector<std::string> fault_errors;  // guarded by errors_mu

  bool on(Fault f) const { return config.faults.on(f); }
  // Garbage spares VM 0 when there are two VMs or more (the control VM).
  bool GarbageReaches(uint16_t vmid) const {
    return on(Fault::kGarbage) && (rigs.size() == 1 || vmid != 0);
  }
  void Injected(Fault f) {
    injected[static_cast<int>(f)].fetch_add(1, std::memory_order_relaxed);
  }
  void FaultError(std::string text) {
    std::lock_guard<std::mutex> lock(errors_mu);
    if (fault_errors.size() < kMaxProblems) fault_errors.push_back(std::move(text));
  }
  // True (once in `every`) when this event is the one to lose.
  static bool OneIn(std::atomic<uint64_t>& counter, int every) {
    return counter.fetch_add(1, std::memory_order_relaxed) % every ==
           static_cast<uint64_t>(every - 1);
  }

  // Resets the VM as its device model would (pause, clear, reset, resume);
  // on success every slot is clean again. Serialized with garbage writes.
  absl::Status ResetVmCleanly(VmRig& rig) {
    std::lock_guard<std::mutex> lock(rig.reset_mu);
    std::array<uint64_t, ioreq::kIoRequestMax> hits;
    for (size_t i = 0; i < hits.size(); ++i) {
      hits[i] = rig.marks[i].garbage.load(std::memory_order_seq_cst);
    }
    rig.clear_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd: resetting
    // Under `acrn` the device model runs the reset itself, exclusive with
    // its scans, and leaves what it emulated meanwhile to the clear.
    absl::Status reset =
        rig.acrn_device_model
            ? rig.acrn_device_model->ResetVm(
                  [&] { return hsm->ResetVm(rig.vmid); })
            : hsm->ResetVm(rig.vmid);
    if (reset.ok()) {
      for (size_t i = 0; i < hits.size(); ++i) {
        rig.marks[i].clean.store(hits[i], std::memory_order_seq_cst);
      }
      resets.fetch_add(1, std::memory_order_relaxed);
    } else {
      reset_failures.fetch_add(1, std::memory_order_relaxed);
    }
    rig.clear_epoch.fetch_add(1, std::memory_order_seq_cst);  // even: done
    return reset;
  }

  // An MMIO BAR client's handler, which stalls now and then.
  ioreq::IoHandler BarHandler(VmRig* rig, size_t bar) {
    return [this, rig, handler = rig->bars[bar]->Handler(),
            base = rig->bars[bar]->base()](ioreq::IoAccess& access) {
      if (on(Fault::kStall) &&
          OneIn(handler_calls, config.faults.stall_every)) {
        const uint64_t offset = access.address - base;
        const size_t vcpu = (offset / kVcpuWindow) % ioreq::kIoRequestMax;
        rig->marks[vcpu].stall.fetch_add(1, std::memory_order_seq_cst);
        Injected(Fault::kStall);
        absl::SleepFor(config.faults.stall);
      }
      absl::Status done = handler(access);
      if (config.planted_bug == PlantedBug::kWrongRead &&
          access.direction == ioreq::kDirRead &&
          OneIn(planted_calls, kPlantedEvery)) {
        access.value ^= 1;  // the planted bug: a wrong answer
        planted.fetch_add(1, std::memory_order_relaxed);
      }
      return done;
    };
  }

  // The VM's UART client's handler; with --plant=lost_write it drops one
  // written byte in kPlantedEvery.
  ioreq::IoHandler UartHandler(VmRig* rig) {
    return [this, handler = rig->uart.Handler()](ioreq::IoAccess& access) {
      if (config.planted_bug == PlantedBug::kLostWrite &&
          access.direction == ioreq::kDirWrite &&
          OneIn(planted_calls, kPlantedEvery)) {
        planted.fetch_add(1, std::memory_order_relaxed);
        return absl::OkStatus();  // the planted bug: the byte is lost
      }
      return handler(access);
    };
  }
};

// Stands between the HSM and the hypervisor: loses one completion
// notification in N when the drop fault is on.
class LossyHypervisorCalls : public ioreq::HypervisorCalls {
 public:
  explicit LossyHypervisorCalls(RunState* h) : h_(h) {}
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override {
    if (h_->on(Fault::kDrop) && vmid < h_->rigs.size() &&
        vcpu < ioreq::kIoRequestMax &&
        RunState::OneIn(h_->notifications, h_->config.faults.drop_every)) {
      h_->rigs[vmid]->marks[vcpu].drop.fetch_add(1, std::memory_order_seq_cst);
      h_->Injected(Fault::kDrop);
      return absl::OkStatus();  // lost on the way
    }
    return h_->hv.NotifyRequestFinish(vmid, vcpu);
  }
  absl::Status PauseVm(uint16_t vmid) override { return h_->hv.PauseVm(vmid); }
  absl::Status ResetVm(uint16_t vmid) override { return h_->hv.ResetVm(vmid); }
  absl::Status ResumeVm(uint16_t vmid) override { return h_->hv.ResumeVm(vmid); }
  absl::Status AssignPosted(uint16_t vmid,
                            const ioreq::PostedDescriptor& d) override {
    return h_->hv.AssignPosted(vmid, d);
  }
  absl::Status DeassignPosted(uint16_t vmid, uint64_t cookie) override {
    return h_->hv.DeassignPosted(vmid, cookie);
  }

 private:
  RunState* const h_;
};

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_STRESS_RIG_H_
