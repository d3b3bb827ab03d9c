// core/harness/hypervisor.h: the producer side of the I/O request path, as
// an interface.
//
// A hypervisor owns one 4 KiB shared page per VM, puts each request a vCPU
// traps into that vCPU's slot [hv-insert], fires the upcall, and takes the
// completion back. The HSM reaches it only through the hypercalls it
// implements (HypervisorCalls, core/hsm/hypercalls.h); a harness builds VMs,
// hands their pages to the HSM and reads the statistics through this
// interface. EmulatedHypervisor (emulated_hypervisor.h), whose vCPUs are
// threads that call a function per access, is one implementation;
// KvmHypervisor (kvm_hypervisor.h), whose vCPUs are real KVM vCPUs trapping
// a guest's port and MMIO instructions, is the other. The HSM and the
// stress command's oracle work unchanged behind either.
//
// Example:
//   ioreq::EmulatedHypervisor emulated;
//   ioreq::Hypervisor& hv = emulated;
//   uint16_t vm = *hv.CreateVm(/*vcpu_num=*/4);
//   hsm.CreateVm(vm, 4);
//   hsm.SetIoreqBuffer(vm, hv.shared_page(vm));
//   hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { hsm.Upcall(vm, vcpu); });
#ifndef IOREQ_CORE_HARNESS_HYPERVISOR_H_
#define IOREQ_CORE_HARNESS_HYPERVISOR_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "core/abi/abi.h"
#include "core/abi/posted_ring.h"
#include "core/hsm/hypercalls.h"

namespace ioreq {

struct HypervisorStats {
  uint64_t inserted = 0;
  uint64_t completed = 0;              // COMPLETE seen and slot freed
  uint64_t notifications = 0;          // NotifyRequestFinish() calls
  uint64_t insert_refused = 0;         // slot was not FREE
  uint64_t rescued_by_rescan = 0;      // COMPLETE found with no notification
  uint64_t abandoned = 0;              // AbandonRequest() calls that took one
  // The `acrn` profile (core/profile/profile.h) only:
  uint64_t handled_in_hypervisor = 0;  // vPCI completed it; no slot used
  uint64_t gp_injected = 0;            // insert into a non-FREE slot: #GP
  uint64_t released_without_value = 0; // woken, slot not COMPLETE: the
                                       // guest resumed with no value
  // Posted writes [posted], both profiles:
  uint64_t posted = 0;          // accesses put into the posted ring
  uint64_t posted_reads = 0;    // `acrn`: reads a descriptor matched; the
                                // guest got no value
  uint64_t posted_corrupt = 0;  // the ring was not sane: given a slot instead
};

class Hypervisor : public HypervisorCalls {
 public:
  // Creates a VM with `vcpu_num` vCPUs (1..16) and its shared page, all
  // slots FREE. Returns the VM id.
  virtual absl::StatusOr<uint16_t> CreateVm(uint32_t vcpu_num) = 0;
  // The VM's shared page; null for an unknown VM.
  virtual SharedPage* shared_page(uint16_t vmid) const = 0;
  // The VM's posted-write ring [posted]; null where there is none.
  virtual PostedRing* posted_ring(uint16_t vmid) const {
    (void)vmid;
    return nullptr;
  }
  // acrn_setup_intr_handler(): the upcall target, called by every insert
  // with the VM and vCPU that trapped (the real upcall carries neither; the
  // kernel topology ignores them). Set it before any vCPU runs.
  virtual void SetUpcallHandler(
      std::function<void(uint16_t vmid, uint32_t vcpu)> handler) = 0;
  virtual HypervisorStats stats() const = 0;
  // System calls the vCPUs' completion waits and wakes made.
  virtual uint64_t syscalls() const = 0;

  // HypervisorCalls: NotifyRequestFinish(), PauseVm(), ResetVm(),
  // ResumeVm(). ResetVm() makes all 16 slots FREE [hv-reset].
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_HYPERVISOR_H_
