// core/hsm/hypercalls.h: what the HSM asks of the hypervisor.
//
// The Service Module calls into the hypervisor through hypercalls. The model
// names the ones it needs as an interface, so that the HSM can run against
// the emulated hypervisor (core/harness/hypervisor.h) or against a test double that
// records each call.
#ifndef IOREQ_CORE_HSM_HYPERCALLS_H_
#define IOREQ_CORE_HSM_HYPERCALLS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace ioreq {

// A posted-write descriptor as the hypervisor keeps it [posted].
struct PostedDescriptor {
  uint32_t type = 1;        // kTypePortIo (0) or kTypeMmio (1)
  uint64_t address = 0;
  bool match_data = false;  // else any value matches
  uint64_t data = 0;
  uint64_t cookie = 0;      // what goes into the ring
};

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

  // hcall_asyncio_assign() / hcall_asyncio_deassign() [posted]: from now
  // on a guest access matching (type, address[, data]) is posted to the
  // VM's ring as `cookie` instead of being given a slot. A hypervisor
  // without posted writes answers Unimplemented.
  virtual absl::Status AssignPosted(uint16_t vmid,
                                    const PostedDescriptor& descriptor) {
    (void)vmid;
    (void)descriptor;
    return absl::UnimplementedError("this hypervisor has no posted writes");
  }
  virtual absl::Status DeassignPosted(uint16_t vmid, uint64_t cookie) {
    (void)vmid;
    (void)cookie;
    return absl::UnimplementedError("this hypervisor has no posted writes");
  }
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HYPERCALLS_H_
