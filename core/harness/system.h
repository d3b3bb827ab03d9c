// core/harness/system.h: a hypervisor and an HSM wired together, once.
//
// Every harness wires the two the same way: create the VM in the hypervisor,
// create it with the same id in the HSM, hand the HSM the VM's page, and
// point the hypervisor's upcall at the HSM. CreateWiredVm() and
// ConnectUpcall() are that wiring; System owns an emulated hypervisor and an
// HSM of one strategy and wires them at construction.
//
// Example:
//   ioreq::System system(ioreq::Strategy::kFutex);
//   uint16_t vm = *system.AddVm(/*vcpu_num=*/2);
//   ioreq::ClientId bar = *system.hsm.CreateClient(vm, "bar", handler, false);
//   system.hsm.AddRange(bar, ioreq::kTypeMmio, base, last);
//   absl::StatusOr<uint64_t> v =
//       system.hv.EmulateAccess(vm, 0, ioreq::MmioRead(base, 4), false);
#ifndef IOREQ_CORE_HARNESS_SYSTEM_H_
#define IOREQ_CORE_HARNESS_SYSTEM_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/harness/hypervisor.h"
#include "core/hsm/hsm.h"
#include "core/notify/strategy.h"
#include "core/profile/profile.h"

namespace ioreq {

// A VM of `vcpu_num` vCPUs in `hv` and, with the same id, in `hsm`, whose
// page the HSM now has. Returns the VM id.
absl::StatusOr<uint16_t> CreateWiredVm(Hypervisor& hv, Hsm& hsm,
                                       uint32_t vcpu_num);

// VM `vmid`, already created in `hv`, created with the same id in `hsm`,
// which gets its page.
absl::Status WireVm(Hypervisor& hv, Hsm& hsm, uint16_t vmid, uint32_t vcpu_num);

// The hypervisor's upcall goes to the HSM, naming the VM and vCPU.
void ConnectUpcall(Hypervisor& hv, Hsm& hsm);

class System {
 public:
  explicit System(Strategy strategy = Strategy::kEventfd,
                  HsmOptions options = {},
                  Profile profile = Profile::kHardened)
      : hv(strategy, absl::Milliseconds(20), profile),
        hsm(&hv, options, strategy) {
    hv.set_carry_wakes(options.carry_wakes);
    ConnectUpcall(hv, hsm);
  }

  absl::StatusOr<uint16_t> AddVm(uint32_t vcpu_num) {
    return CreateWiredVm(hv, hsm, vcpu_num);
  }

  // Declared in this order: the HSM goes first, then the hypervisor.
  EmulatedHypervisor hv;
  Hsm hsm;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_SYSTEM_H_
