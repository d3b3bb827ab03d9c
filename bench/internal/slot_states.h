// bench/internal/slot_states.h: where each of a VM's slots stands, in one
// line, for the stress watchdog's report of a run that stopped moving.
//
// Each of the VM's first `vcpus` slots as "<vCPU> <STATE>", and for a
// PROCESSING request the client whose pending bit holds it. Only the VM's
// own vCPUs' slots are read: the rest of the page belongs to no vCPU.
//
// Example:
//   std::string line = bench::stress_internal::SlotStates(
//       hsm, hv.shared_page(vmid), vmid, /*vcpus=*/2);
//   // "0 FREE, 1 PROCESSING (held by bar1)"
#ifndef IOREQ_BENCH_INTERNAL_SLOT_STATES_H_
#define IOREQ_BENCH_INTERNAL_SLOT_STATES_H_

#include <cstdint>
#include <string>

#include "core/abi/abi.h"
#include "core/hsm/hsm.h"

namespace bench {
namespace stress_internal {

std::string SlotStates(const ioreq::Hsm& hsm, const ioreq::SharedPage* page,
                       uint16_t vmid, int vcpus);

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_SLOT_STATES_H_
