// core/hsm/internal/completer.h: every way a request leaves the HSM
// [complete].
//
// CompleteSlot() is ioreq_complete_request(): read completion_polling, then
// publish COMPLETE with a release, then notify the hypervisor unless it
// polls. CompleteRequest() is acrn_ioreq_complete_request(), with the
// model's check that the client holds the request. AnswerUndelivered() acts
// on a router decision other than kDeliver (router.h). Each path counts its
// outcome here, once; the engine counts what it did (dispatched, folded).
//
// Example:
//   Completer completer(hypervisor, counters, Topology::kDirect);
//   completer.CompleteRequest(vm, client, vcpu).IgnoreError();
#ifndef IOREQ_CORE_HSM_INTERNAL_COMPLETER_H_
#define IOREQ_CORE_HSM_INTERNAL_COMPLETER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/hsm/hsm_options.h"
#include "core/hsm/hypercalls.h"
#include "core/hsm/internal/counters.h"
#include "core/hsm/internal/router.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace hsm_internal {

class Completer {
 public:
  Completer(HypervisorCalls* hypervisor, HsmCounters& counters,
            Topology topology)
      : hypervisor_(hypervisor),
        counters_(counters),
        marks_at_end_of_default_hold_(topology == Topology::kDirect) {}

  // Moves vCPU `vcpu`'s slot from `expected` (the state the caller owns it
  // in) to COMPLETE and notifies the hypervisor unless it polls. A slot no
  // longer in `expected` is left alone and counted in ownership_lost.
  void CompleteSlot(VmState& vm, uint32_t vcpu, uint32_t expected);

  // Completes vCPU `vcpu`'s request held by `client`: InvalidArgument for a
  // vCPU out of range, FailedPrecondition (spurious_completions) when the
  // client does not hold it.
  absl::Status CompleteRequest(VmState& vm, ClientState& client,
                               uint32_t vcpu);

  // [kernel-handled] The default client's hold on vCPU `vcpu`'s slot ends
  // (completed, completed for it, or lost). In the direct topology
  // kernel_handled goes back to 1, so the slot is marked the kernel's before
  // it can be PENDING again and an in-process claim need not mark it
  // (DirectClaimer::ClaimWithoutLock()); called before the COMPLETE that
  // hands the slot back. clients_mu held: the default client marks 0 under
  // it. In the kernel topology it does nothing, as the kernel: its
  // dispatcher marks every request it hands out.
  void EndDefaultHold(VmState& vm, uint32_t vcpu);

  // Acts on a decision that is not kDeliver for a slot the caller owns in
  // state `expected` (PENDING for the kernel dispatcher, PROCESSING for a
  // direct claimer): completes it (unemulated, all-ones, or answered in
  // place), or, for kNoClient, leaves it PENDING for a later pass.
  void AnswerUndelivered(VmState& vm, uint32_t vcpu, uint32_t expected,
                         const RouteDecision& decision);

  // [posted] Drains the VM's posted ring, signalling each write's eventfd,
  // and counts what it found. Cheap when the ring is empty.
  void DrainPosted(VmState& vm);

 private:
  HypervisorCalls* const hypervisor_;
  HsmCounters& counters_;
  const bool marks_at_end_of_default_hold_;
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_COMPLETER_H_
