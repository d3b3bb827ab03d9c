// core/harness/hypervisor.h: the emulated hypervisor, whose vCPUs produce requests.
//
// It owns one 4 KiB-aligned shared page per VM and plays the hypervisor's
// half of the protocol [hv-insert]: a vCPU that traps an I/O access fills its
// slot (only a FREE one), marks it PENDING with a release store, fires the
// upcall, then waits for COMPLETE either by polling the state word
// (completion_polling = 1) or by sleeping until NotifyRequestFinish(). It
// then copies a read's value back, masked to the access size, and frees the
// slot. Each vCPU is driven by one producer thread; one vCPU has at most one
// request in flight.
//
// Example:
//   ioreq::Hypervisor hv;
//   uint16_t vm = *hv.CreateVm(/*vcpu_num=*/4);
//   hv.SetUpcallHandler([&] { hsm.Upcall(); });
//   // on vCPU 2's thread:
//   absl::StatusOr<uint64_t> value =
//       hv.EmulateAccess(vm, 2, ioreq::PortRead(0x3fd, 1), /*polling=*/false);
#ifndef IOREQ_CORE_HARNESS_HYPERVISOR_H_
#define IOREQ_CORE_HARNESS_HYPERVISOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/abi/abi.h"
#include "core/notify/strategy.h"
#include "core/hsm/hypercalls.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

struct HypervisorStats {
  uint64_t inserted = 0;
  uint64_t completed = 0;              // COMPLETE seen and slot freed
  uint64_t notifications = 0;          // NotifyRequestFinish() calls
  uint64_t insert_refused = 0;         // slot was not FREE
  uint64_t rescued_by_rescan = 0;      // COMPLETE found with no notification
  uint64_t abandoned = 0;              // AbandonRequest() calls that took one
};

template <typename Bell>
class BasicHypervisor : public HypervisorCalls {
 public:
  // [rescan] A notified vCPU that waits longer than `completion_rescan`
  // without a notification looks at its slot anyway, so a lost
  // NotifyRequestFinish() costs one interval instead of a vCPU hung for
  // ever (InfiniteDuration(): never, the kernel's contract).
  explicit BasicHypervisor(
      absl::Duration completion_rescan = absl::Milliseconds(20));
  ~BasicHypervisor() override;

  // acrn_setup_intr_handler(): the upcall target, called by every insert
  // with the VM and vCPU that trapped (the real upcall carries neither; the
  // kernel topology ignores them). Set it before any vCPU runs.
  void SetUpcallHandler(std::function<void(uint16_t vmid, uint32_t vcpu)> handler);
  void SetUpcallHandler(std::function<void(uint16_t vmid)> handler) {
    SetUpcallHandler([h = std::move(handler)](uint16_t vmid, uint32_t) { h(vmid); });
  }
  void SetUpcallHandler(std::function<void()> handler) {
    SetUpcallHandler([h = std::move(handler)](uint16_t, uint32_t) { h(); });
  }

  // Creates a VM with `vcpu_num` vCPUs (1..16) and its shared page, all
  // slots FREE. Returns the VM id.
  absl::StatusOr<uint16_t> CreateVm(uint32_t vcpu_num);
  SharedPage* shared_page(uint16_t vmid) const;

  // [hv-insert]: fill the vCPU's FREE slot, release-store PENDING, upcall.
  // FailedPrecondition if the slot is not FREE; Unavailable never: while the
  // VM is paused, the call waits for it to resume.
  absl::Status InsertRequest(uint16_t vmid, uint32_t vcpu,
                             const IoAccess& access, bool polling);

  // Waits for COMPLETE (polling or notified), returns a read's value masked
  // to its size (0 for a write), and stores FREE. DeadlineExceeded after
  // `timeout`, with the request still in flight.
  absl::StatusOr<uint64_t> WaitForCompletion(
      uint16_t vmid, uint32_t vcpu,
      absl::Duration timeout = absl::InfiniteDuration());

  // The vCPU gives up on a request that WaitForCompletion() timed out on
  // (a hypervisor resetting a wedged vCPU): it is no longer in flight, so
  // ResetVm() does not wait for it; the slot stays as it is until the VM is
  // reset. FailedPrecondition if the vCPU has no request in flight.
  absl::Status AbandonRequest(uint16_t vmid, uint32_t vcpu);

  // InsertRequest() then WaitForCompletion(): one trapped access.
  absl::StatusOr<uint64_t> EmulateAccess(
      uint16_t vmid, uint32_t vcpu, const IoAccess& access, bool polling,
      absl::Duration timeout = absl::InfiniteDuration());

  // HypervisorCalls.
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override;
  absl::Status PauseVm(uint16_t vmid) override;
  // Waits (up to a second) for in-flight requests to complete, then makes
  // all 16 slots FREE and zero [hv-reset].
  absl::Status ResetVm(uint16_t vmid) override;
  absl::Status ResumeVm(uint16_t vmid) override;

  HypervisorStats stats() const;
  // System calls the vCPUs' completion doorbells made.
  uint64_t syscalls() const;

 private:
  struct alignas(64) Vcpu {
    Bell completion;                     // rung by NotifyRequestFinish()
    std::atomic<bool> in_flight{false};  // a request awaits completion
    std::atomic<bool> polling{false};
    IoAccess access;                     // what was issued; vCPU thread only
  };
  struct Vm {
    uint16_t vmid;
    uint32_t vcpu_num;
    std::unique_ptr<PageFrame> page;  // 4 KiB-aligned
    std::unique_ptr<Vcpu[]> vcpus;
    std::mutex pause_mu;
    std::condition_variable resumed;
    bool paused = false;  // guarded by pause_mu
  };

  absl::StatusOr<Vm*> FindVm(uint16_t vmid) const;
  absl::StatusOr<Vcpu*> FindVcpu(Vm* vm, uint32_t vcpu) const;
  void FireUpcall(uint16_t vmid, uint32_t vcpu);

  mutable std::mutex vms_mu_;
  std::map<uint16_t, std::unique_ptr<Vm>> vms_;  // guarded by vms_mu_
  uint16_t next_vmid_ = 0;                       // guarded by vms_mu_

  std::mutex upcall_mu_;
  std::function<void(uint16_t, uint32_t)> upcall_;  // written before vCPUs run
  std::atomic<bool> has_upcall_{false};

  const absl::Duration completion_rescan_;
  std::atomic<uint64_t> inserted_{0}, completed_{0}, notifications_{0},
      insert_refused_{0}, rescued_by_rescan_{0}, abandoned_{0};
};

extern template class BasicHypervisor<SpinDoorbell>;
extern template class BasicHypervisor<EventfdDoorbell>;
extern template class BasicHypervisor<UringDoorbell>;
extern template class BasicHypervisor<UringEventfdDoorbell>;
extern template class BasicHypervisor<FutexDoorbell>;
extern template class BasicHypervisor<AdaptiveDoorbell>;

// The hypervisor with eventfd wake-ups, for code that does not choose.
using Hypervisor = BasicHypervisor<EventfdDoorbell>;

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_HYPERVISOR_H_
