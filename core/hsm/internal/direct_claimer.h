// core/hsm/internal/direct_claimer.h: the direct topology's routing engine.
//
// There is no dispatcher. An upcall routes a relaxed snapshot of the slot
// (RouteSnapshot()) and rings only the client it belongs to; each client
// scans the VM's slots under the PassGate (shared) and claims, with a
// compare-exchange PENDING -> PROCESSING, the requests whose snapshot routes
// to it. Only then are the slot's real fields read (in steady state into a
// private copy), and routed again with RouteRequest(): the slot may have
// been completed and reused between the snapshot and the compare-exchange,
// in which case it holds another request than the one routed, and it goes
// back PENDING to its real owner, which is rung (`rerouted`). A client that
// claims for itself keeps the access decoded from that checked copy for its
// serving (ClientState::own_claims), which then checks nothing again. The
// default client is the only one that folds
// 0xCF8/0xCFC, so it alone touches the VM's latch. Routing changes ring every
// client of the VM, so a request whose owner changed is rescanned; [rescan]:
// a client also scans after rescan_interval without a ring.
//
// [kernel-handled] in this topology, the marks, so that no claim needs
// clients_mu in steady state: the HSM marks every slot the kernel's (1) when
// it is given the page; the default client's claim unmarks its own request
// (0) after its pending bit and its hold ends with the slot marked again
// (Completer::EndDefaultHold()). So a PENDING slot reads 1, and every claim
// that reads 1 goes on without a mark. A PENDING slot that reads otherwise
// (a hypervisor wrote the field, or gave back a slot the default client
// held) is marked only where no claim can unmark it meanwhile: by the
// default client's own claim scan, the only thread that unmarks without the
// lock (it then rings the slot's owner), in an exclusive pass, or under
// clients_mu in a VM without a default client. Another client's shared scan
// leaves such a slot to the default client and rings it
// (ClaimOutcome::kLeftToDefault).
//
// Example:
//   DirectClaimer<FutexDoorbell> engine(context);
//   int taken = engine.Take(client);  // on the client's thread
#ifndef IOREQ_CORE_HSM_INTERNAL_DIRECT_CLAIMER_H_
#define IOREQ_CORE_HSM_INTERNAL_DIRECT_CLAIMER_H_

#include <cstdint>
#include <vector>

#include "core/abi/abi.h"
#include "core/hsm/internal/engine.h"
#include "core/hsm/internal/router.h"

namespace ioreq {
namespace hsm_internal {

// What one claimer did with one slot.
enum class ClaimOutcome {
  kNotMine,    // the snapshot routes to another client, or none
  kLost,       // the compare-exchange lost: the slot was not PENDING
  kTaken,      // PROCESSING, the claimer's pending bit set
  kAnswered,   // completed (clearing, invalid, 0xCF8/0xCFC in place)
  kGivenBack,  // PENDING again: no client, or another owner (rerouted)
  kLeftToDefault,  // PENDING, not marked the kernel's: the default client,
                   // rung, marks it (a shared scan of another client)
};

// Who makes a claim: the thread that goes on to serve the claimer's
// requests (the client's own Take()), which may keep the checked access for
// that serving (ClientState::own_claims), or another thread (a pass for
// every client, a test), which counts in ClientState::foreign_deliveries
// before it hands the client a request.
enum class Claimant { kServingThread, kOtherThread };

// The PassGate as the claim holds it: shared (a client's own scan; other
// claims may run beside it) or exclusive (a pass for every client; nothing
// else claims).
enum class Pass { kShared, kExclusive };

template <typename Bell>
class DirectClaimer final : public EngineWithBell<Bell> {
 public:
  explicit DirectClaimer(HsmContext& context) : ctx_(context) {}

  void Stop() override {}
  void Upcall(uint16_t vmid, uint32_t vcpu) override;
  // Every client of every VM claims in turn (newest first, the default
  // client last), the PassGate held exclusively: the hand-driven step.
  void Dispatch() override;
  // The same for one VM, now (a clear), then rings every client.
  void RouteVmNow(VmState& vm) override;
  void RoutingChangedLocked(VmState& vm) override { RingClientsLocked(vm); }
  void Resumed() override;
  int Take(ClientState& client) override;
  bool WaitForWork(ClientState& client) override;
  uint64_t syscalls() const override { return 0; }
  using EngineWithBell<Bell>::syscalls;

  // One claimer's step on slot `vcpu`, routed on `snapshot`: the caller's
  // own earlier copy of the slot (routed without folding: never written).
  // The PassGate is held as `pass` says. Owners to ring are added to
  // `wakes`. In steady state no step takes a lock (ClaimWithoutLock()); a
  // step the memo cannot answer, the default client's fold of 0xCF8/0xCFC
  // and a slot not marked the kernel's take clients_mu once. Public for the
  // tests of a slot reused under the snapshot.
  ClaimOutcome ClaimSlot(VmState& vm, ClientState& claimer, uint32_t vcpu,
                         IoRequest& snapshot, std::vector<Bell*>& wakes,
                         Claimant who = Claimant::kOtherThread,
                         Pass pass = Pass::kShared);

 private:
  // Every client of the VM claims in turn, the default client last. The
  // PassGate is held exclusively.
  void ClaimForEveryClient(VmState& vm, std::vector<Bell*>& wakes);
  // Claims for `claimer` every slot of its VM; returns the slots taken
  // (every outcome after a won compare-exchange). The PassGate is held.
  int ClaimVm(VmState& vm, ClientState& claimer, std::vector<Bell*>& wakes,
              Claimant who, Pass pass);
  // ClaimSlot() without clients_mu: routed from the memo, the slot already
  // marked the kernel's. After the claim the slot is copied and the copy
  // routed (checked); a claim on the serving thread keeps the access
  // decoded from it. False, having changed nothing, where only the locked
  // path can claim (a memo miss, a check of the index, a slot not marked 1,
  // a 0xCF8/0xCFC access the default client folds).
  bool ClaimWithoutLock(VmState& vm, ClientState& claimer, uint32_t vcpu,
                        IoRequest& snapshot, std::vector<Bell*>& wakes,
                        Claimant who, ClaimOutcome* outcome);
  // The default client's step on a PENDING slot that routes to `owner`: a
  // slot not marked the kernel's is marked, and its owner rung (another
  // client's shared scan left it, kLeftToDefault). Never on another
  // claimer's thread: the default client's claim is the only one that
  // unmarks without clients_mu.
  void MarkForItsOwner(IoRequest& req, ClientState* owner,
                       std::vector<Bell*>& wakes);
  // After a won compare-exchange, for a request routed kDeliver: taken by
  // `claimer` if it is the owner, else given back PENDING and the owner
  // rung. `kept`: the route was decided on the claimer's own copy
  // (ClientState::claimed_copy), which its serving may then use
  // (Claimant::kServingThread only).
  ClaimOutcome Deliver(VmState& vm, ClientState& claimer, uint32_t vcpu,
                       IoRequest& req, const RouteDecision& d,
                       std::vector<Bell*>& wakes, Claimant who, bool kept);
  // After a won compare-exchange, for any other route: answered (or given
  // back PENDING without a client). Without clients_mu.
  ClaimOutcome Answer(VmState& vm, uint32_t vcpu, const RouteDecision& d);
  // Who claims a request routed on `snapshot`: its owner; for a request
  // the router answers without a client, the default client, or, without
  // one, `claimer` itself. clients_mu held.
  ClientState* SnapshotOwner(VmState& vm, IoRequest& snapshot,
                             ClientState* claimer);
  // The same for a decision already made (with or without clients_mu).
  static ClientState* OwnerOf(VmState& vm, const RouteDecision& d,
                              ClientState* claimer);
  // The upcall's work once the VM is found: drain the posted ring, ring
  // every client of a VM without its page (or for a vCPU it lacks), and,
  // with `ring_owner` (inside a shared pass, not paused), the owner of a
  // PENDING slot (steady state: no lock, RouteSnapshotWithoutLock()).
  void UpcallTo(VmState& vm, uint32_t vcpu, bool ring_owner);
  void RingClients(VmState& vm);
  void RingClientsLocked(VmState& vm);

  HsmContext& ctx_;
};

IOREQ_EXTERN_FOR_EACH_DOORBELL(DirectClaimer)

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_DIRECT_CLAIMER_H_
