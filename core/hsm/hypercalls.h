// core/hsm/hypercalls.h: what the HSM asks of the hypervisor.
//
// The Service Module calls into the hypervisor through hypercalls. The model
// names the four it needs as an interface, so that the HSM can run against
// the emulated hypervisor (core/harness/hypervisor.h) or against a test double that
// records each call.
#ifndef IOREQ_CORE_HSM_HYPERCALLS_H_
#define IOREQ_CORE_HSM_HYPERCALLS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace ioreq {

class HypervisorCalls {
 public:
  virtual ~HypervisorCalls() = default;

  // hcall_notify_req_finish(): the request of (vmid, vcpu) is COMPLETE and
  // the vCPU, which did not poll, may resume.
  virtual absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) = 0;

  // hcall_pause_vm(), hcall_reset_vm(), hcall_start_vm(): used by
  // Hsm::ResetVm(). ResetVm() makes all 16 slots FREE [hv-reset].
  virtual absl::Status PauseVm(uint16_t vmid) = 0;
  virtual absl::Status ResetVm(uint16_t vmid) = 0;
  virtual absl::Status ResumeVm(uint16_t vmid) = 0;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HYPERCALLS_H_
