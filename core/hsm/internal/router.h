// core/hsm/internal/router.h: where a PENDING request goes, decided once for
// both engines.
//
// RouteRequest() is the whole sequence of [dispatch] after the state check,
// written once and shared by the kernel dispatcher and the direct claimer:
//   1. the VM is clearing             -> complete it unemulated    [clear]
//   2. CheckRequest() fails           -> answer it all-ones
//   3. 0xCF8, or 0xCFC..0xCFF:        -> completed in place, or folded into
//                                        a PCICFG request and checked again
//                                        [cf8cfc]
//   4. the newest client whose range holds the whole access, else the
//      default client; PCICFG always the default client  [find-client]
//      (remembered per access until the ranges change: route_memo.h)
//   5. no client at all               -> left PENDING
// It depends only on the request and the VM's routing state (clearing,
// clients, ranges, the 0xCF8 latch), and it neither completes nor counts:
// the engine acts on the decision (Completer::AnswerUndelivered() for every
// route but kDeliver).
//
// A caller that may not fold (a direct-topology claimer other than the
// default client, or anyone routing a snapshot of a slot it does not own)
// passes a null latch: a configuration-port access then routes, unfolded, to
// the default client, the only client that folds.
//
// Example (clients_mu held):
//   RouteDecision d = RouteRequest(vm, slot, &vm.pci_config_address, check);
//   if (d.route == Route::kDeliver) Hand(slot, *d.client);
//   else completer.AnswerUndelivered(vm, vcpu, kStatePending, d);
#ifndef IOREQ_CORE_HSM_INTERNAL_ROUTER_H_
#define IOREQ_CORE_HSM_INTERNAL_ROUTER_H_

#include <cstdint>

#include "core/abi/abi.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace hsm_internal {

enum class Route : uint8_t {
  kDeliver,             // hand it to `client`
  kCompleteUnemulated,  // the VM is clearing
  kAnswerAllOnes,       // failed CheckRequest() (before or after folding)
  kCompletedInPlace,    // 0xCF8, or 0xCFC with the enable bit clear
  kNoClient,            // no client at all: stays PENDING
};

struct RouteDecision {
  Route route = Route::kNoClient;
  ClientState* client = nullptr;  // kDeliver only
  bool folded = false;            // a 0xCFC access was rewritten as PCICFG
};

// [find-client] The client that owns `req`: PCICFG goes to the default
// client; otherwise the newest client with a range holding the whole access,
// else the default client; null if there is none. An access routed before
// under the same ranges is answered from VmState::route_memo, without a
// lookup. With `check_index`, every answer is looked up, and the RangeIndex's
// is compared with the kernel's linear scan and with the memo's (abort on a
// difference). VmState::clients_mu held.
ClientState* FindClient(VmState& vm, const IoRequest& req, bool check_index);

// The decision for a request; see the header comment. `latch` is the VM's
// 0xCF8 latch for a caller that folds (read and written, and `req` rewritten
// in place), null for one that may not. VmState::clients_mu held.
RouteDecision RouteRequest(VmState& vm, IoRequest& req, uint32_t* latch,
                           bool check_index);

// RouteRequest(vm, snapshot, /*latch=*/nullptr, ...) without clients_mu,
// for a look at a slot the caller does not own (the direct topology's
// upcall): the same steps, the owner from the memo (route_memo.h) and the
// default client from VmState::default_client_in_pass. False, with `*d`
// unspecified, when only a lookup can answer (no current memo entry for the
// access): the caller then routes under clients_mu. Only inside a shared
// pass of the PassGate, which keeps the client it names alive.
bool RouteSnapshotWithoutLock(VmState& vm, IoRequest& snapshot,
                              RouteDecision* d);

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_ROUTER_H_
