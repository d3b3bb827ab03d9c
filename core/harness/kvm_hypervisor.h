// core/harness/kvm_hypervisor.h: a hypervisor whose vCPUs are KVM vCPUs.
//
// The second implementation of the producer side (core/harness/hypervisor.h):
// each VM is a real KVM VM (core/kvm/) with one thread per vCPU running
// KVM_RUN. Every access the guest traps (KVM_EXIT_IO, KVM_EXIT_MMIO; string
// I/O one request per element) becomes a request in that vCPU's slot,
// filled exactly as the emulated hypervisor fills one [hv-insert]: the
// upcall fires, the vCPU waits for COMPLETE by polling or on its
// completion doorbell, a read's value is copied into kvm_run, the slot is
// freed, and only then does the guest run again. The slot protocol is the
// emulated hypervisor's, driven by real exits instead of function calls;
// the HSM behind it is unchanged.
//
// A guest is loaded into kvm_vm(vmid) (guests/guest_vm.h does that for the
// project's guests), Start() runs it, Join() waits for every vCPU to
// report. A port of the VMM's own (`report_port`) is answered here and
// never forwarded, as a hypervisor's own handlers run before the HSM's.
//
// Example:
//   ioreq::KvmHypervisor hv({.strategy = ioreq::Strategy::kFutex});
//   ioreq::Hsm hsm(&hv, {}, ioreq::Strategy::kFutex);
//   ioreq::ConnectUpcall(hv, hsm);
//   uint16_t vm = *ioreq::CreateWiredVm(hv, hsm, /*vcpu_num=*/2);
//   ioreq::guests::PrepareGuest(*hv.kvm_vm(vm), params);
//   hv.Start(vm);
//   for (const auto& vcpu : hv.Join(vm)) CHECK(vcpu.status.ok());
#ifndef IOREQ_CORE_HARNESS_KVM_HYPERVISOR_H_
#define IOREQ_CORE_HARNESS_KVM_HYPERVISOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/harness/hypervisor.h"
#include "core/kvm/kvm_vm.h"
#include "core/kvm/vcpu_loop.h"
#include "core/notify/strategy.h"

namespace ioreq {

struct KvmHypervisorOptions {
  Strategy strategy = Strategy::kEventfd;  // the completion waits
  // [rescan] of the completion waits (see EmulatedHypervisor).
  absl::Duration completion_rescan = absl::Milliseconds(20);
  bool polling = false;  // completion_polling of every request
  // The hypervisor's profile (core/profile/profile.h); under `acrn`
  // `polling` is the VMs' choice [acrn-polling].
  Profile profile = Profile::kHardened;
  size_t memory_bytes = size_t{2} << 20;  // guest memory per VM
  uint16_t report_port = 0x510;           // answered by the VMM itself
  std::vector<int> vcpu_cpus;  // where vCPU threads run; empty: anywhere
  // VMs an unmodified operating system can boot in (kvm::KvmVm's
  // pc_platform: in-kernel interrupt controllers and timer, KVM's CPUID);
  // a vCPU's reset (KVM_EXIT_SHUTDOWN) then ends its run OK
  // (guests/linux/).
  bool pc_platform = false;
};

class KvmHypervisor : public Hypervisor {
 public:
  explicit KvmHypervisor(KvmHypervisorOptions options = {});
  // Kicks and joins every vCPU thread still running.
  ~KvmHypervisor() override;
  KvmHypervisor(const KvmHypervisor&) = delete;
  KvmHypervisor& operator=(const KvmHypervisor&) = delete;

  const KvmHypervisorOptions& options() const { return options_; }

  // Hypervisor. CreateVm() makes the KVM VM and its vCPUs too; it fails
  // with KVM's own reason where KVM is unusable (kvm::KvmUsable()).
  absl::StatusOr<uint16_t> CreateVm(uint32_t vcpu_num) override;
  SharedPage* shared_page(uint16_t vmid) const override {
    return requests_.shared_page(vmid);
  }
  void SetUpcallHandler(
      std::function<void(uint16_t vmid, uint32_t vcpu)> handler) override {
    requests_.SetUpcallHandler(std::move(handler));
  }
  HypervisorStats stats() const override { return requests_.stats(); }
  uint64_t syscalls() const override { return requests_.syscalls(); }

  // HypervisorCalls, as the emulated hypervisor answers them.
  PostedRing* posted_ring(uint16_t vmid) const override {
    return requests_.posted_ring(vmid);
  }
  absl::Status AssignPosted(uint16_t vmid,
                            const PostedDescriptor& descriptor) override {
    return requests_.AssignPosted(vmid, descriptor);
  }
  absl::Status DeassignPosted(uint16_t vmid, uint64_t cookie) override {
    return requests_.DeassignPosted(vmid, cookie);
  }
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override {
    return requests_.NotifyRequestFinish(vmid, vcpu);
  }
  absl::Status PauseVm(uint16_t vmid) override { return requests_.PauseVm(vmid); }
  absl::Status ResetVm(uint16_t vmid) override { return requests_.ResetVm(vmid); }
  absl::Status ResumeVm(uint16_t vmid) override {
    return requests_.ResumeVm(vmid);
  }

  // The VM's KVM side, to load a guest into; null for an unknown VM.
  kvm::KvmVm* kvm_vm(uint16_t vmid) const;

  // The slot protocol the vCPUs drive, for a harness that wraps Trap()
  // (the stress command accounts its faults around each request).
  EmulatedHypervisor& requests() { return requests_; }

  // One trapped access of vCPU `vcpu` as a request: insert, wait for
  // COMPLETE, take a read's value into `access.value`, free the slot.
  absl::Status Trap(uint16_t vmid, uint32_t vcpu, IoAccess& access);

  // Starts one thread per vCPU of the VM, each running its guest until it
  // reports. Each trapped access goes to `handler`, Trap() by default.
  // FailedPrecondition if the VM's vCPUs already run.
  absl::Status Start(uint16_t vmid, kvm::TrapHandler handler = nullptr);

  struct VcpuResult {
    absl::Status status;  // how the vCPU's run ended
    kvm::VcpuLoopStats stats;
  };
  // Waits for every vCPU thread of the VM; one result per vCPU.
  std::vector<VcpuResult> Join(uint16_t vmid);

  // Makes every vCPU of the VM stop at its next exit (its run ends
  // Unavailable); Join() still collects them.
  void Kick(uint16_t vmid);

 private:
  struct Vm {
    std::unique_ptr<kvm::KvmVm> kvm;
    std::vector<std::thread> threads;
    std::vector<VcpuResult> results;
  };
  Vm* Find(uint16_t vmid) const;

  const KvmHypervisorOptions options_;
  EmulatedHypervisor requests_;
  mutable std::mutex mu_;  // guards vms_ (the map; each Vm is stable)
  absl::flat_hash_map<uint16_t, std::unique_ptr<Vm>> vms_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_KVM_HYPERVISOR_H_
