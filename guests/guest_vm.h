// guests/guest_vm.h: a KVM VM made ready to run the guest programs.
//
// PrepareGuest() loads the image (guests/guest_image.h) at
// GUEST_IMAGE_BASE, writes the parameters and points every vCPU at the
// entry with its own stack and its index in EBX. ReportOf() reads what a
// vCPU's guest reported; CheckReport() turns it into a verdict that names
// the guest's own message, and holds the guest's count of accesses against
// the host's: a request lost or made twice on the way shows there.
//
// Example:
//   guest_params params = ioreq::guests::ProbeParams();
//   ioreq::guests::PrepareGuest(*vm, params);
//   ... run every vCPU with ioreq::kvm::RunVcpu() ...
//   absl::Status verdict = ioreq::guests::CheckReport(*vm, 0, stats.accesses);
#ifndef IOREQ_GUESTS_GUEST_VM_H_
#define IOREQ_GUESTS_GUEST_VM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/kvm/kvm_vm.h"
#include "guests/guest_abi.h"

namespace ioreq {
namespace guests {

// Parameters with the magic set and everything else zero.
guest_params EmptyParams(uint32_t program, uint32_t vcpus);

// Loads the image and `params`, and sets up every vCPU the VM has (add
// them first). InvalidArgument if the VM's memory is smaller than
// GUEST_MEMORY_BYTES or it has more than GUEST_MAX_VCPUS vCPUs.
absl::Status PrepareGuest(kvm::KvmVm& vm, const guest_params& params);

// The live parameter block in guest memory (the host may bump `relaxed`
// while the guest runs).
volatile guest_params& ParamsOf(kvm::KvmVm& vm);

// A copy of vCPU `vcpu`'s report.
guest_report ReportOf(const kvm::KvmVm& vm, uint32_t vcpu);

// The live report in guest memory (the loops update `last_ticks` while
// they run).
volatile guest_report& LiveReportOf(kvm::KvmVm& vm, uint32_t vcpu);

// OK when the guest reported, found no wrong value, and made exactly
// `host_accesses` accesses; otherwise an error naming the vCPU and the
// guest's first failure.
absl::Status CheckReport(const kvm::KvmVm& vm, uint32_t vcpu,
                         uint64_t host_accesses);

}  // namespace guests
}  // namespace ioreq

#endif  // IOREQ_GUESTS_GUEST_VM_H_
