#include "core/harness/system.h"

namespace ioreq {

absl::StatusOr<uint16_t> CreateWiredVm(Hypervisor& hv, Hsm& hsm,
                                       uint32_t vcpu_num) {
  absl::StatusOr<uint16_t> vm = hv.CreateVm(vcpu_num);
  if (!vm.ok()) return vm.status();
  if (absl::Status s = WireVm(hv, hsm, *vm, vcpu_num); !s.ok()) return s;
  return vm;
}

absl::Status WireVm(Hypervisor& hv, Hsm& hsm, uint16_t vmid,
                    uint32_t vcpu_num) {
  if (absl::Status s = hsm.CreateVm(vmid, vcpu_num); !s.ok()) return s;
  if (absl::Status s = hsm.SetIoreqBuffer(vmid, hv.shared_page(vmid)); !s.ok()) {
    return s;
  }
  if (PostedRing* ring = hv.posted_ring(vmid); ring != nullptr) {
    return hsm.SetPostedRing(vmid, ring);  // [posted]
  }
  return absl::OkStatus();
}

void ConnectUpcall(Hypervisor& hv, Hsm& hsm) {
  hv.SetUpcallHandler(
      [&hsm](uint16_t vmid, uint32_t vcpu) { hsm.Upcall(vmid, vcpu); });
}

}  // namespace ioreq
