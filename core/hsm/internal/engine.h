// core/hsm/internal/engine.h: what the HSM's parts share, and the interface
// of the two routing engines.
//
// HsmContext is the state every job of the HSM reads: options, counters,
// the completer, the registry and the pass gate. RoutingEngine is who moves
// PENDING requests to clients, chosen once by the topology:
//   KernelDispatcher  (kernel_dispatcher.h)  the kernel's: an upcall rings
//                     one dispatcher thread, which routes every VM's slots
//   DirectClaimer     (direct_claimer.h)     no dispatcher: an upcall rings
//                     the owning client, which claims its requests itself
// Both route with RouteRequest() (router.h) and answer what they do not
// deliver with Completer::AnswerUndelivered(), so the rules are written
// once. The engines are the only code templated on the doorbell, with the
// clients they create (ClientOf<Bell>): everything else rings and waits
// through this interface.
//
// Example:
//   std::unique_ptr<RoutingEngine> engine = MakeEngine(strategy, context);
//   engine->Upcall(vmid, vcpu);
#ifndef IOREQ_CORE_HSM_INTERNAL_ENGINE_H_
#define IOREQ_CORE_HSM_INTERNAL_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

#include "core/hsm/hsm_options.h"
#include "core/hsm/hypercalls.h"
#include "core/hsm/internal/completer.h"
#include "core/hsm/internal/counters.h"
#include "core/hsm/internal/pass_gate.h"
#include "core/hsm/internal/registry.h"
#include "core/hsm/internal/vm_state.h"
#include "core/notify/poll_for_ring.h"
#include "core/notify/strategy.h"

namespace ioreq {
namespace hsm_internal {

struct HsmContext {
  HsmContext(HypervisorCalls* hv, const HsmOptions& o)
      : hypervisor(hv), options(o), completer(hv, counters, o.topology) {}

  HypervisorCalls* const hypervisor;
  const HsmOptions options;
  HsmCounters counters;
  Completer completer;
  Registry registry;
  PassGate gate;
  // Tests only (set through HsmTestPeer before any thread of the HSM runs):
  // called on the kernel dispatcher's thread between its route of a
  // PENDING slot and its compare-exchange to PROCESSING, the window where a
  // hostile hypervisor's write makes that compare-exchange lose. Empty: no
  // call (one predictable branch per routed request).
  std::function<void(VmState& vm, uint32_t vcpu)> before_hand_over;
};

class RoutingEngine {
 public:
  virtual ~RoutingEngine() = default;

  // A new client with this engine's doorbell; the caller fills it in.
  virtual std::shared_ptr<ClientState> NewClient() = 0;
  // Stops the engine's own threads; the HSM calls it after every VM is gone.
  virtual void Stop() = 0;

  // The hypervisor's upcall for the request of (vmid, vcpu).
  virtual void Upcall(uint16_t vmid, uint32_t vcpu) = 0;
  // One routing pass over every VM, now, on this thread (Hsm::Dispatch()).
  virtual void Dispatch() = 0;
  // Routes the VM's PENDING requests now, or has them routed at once
  // (ClearRequests()).
  virtual void RouteVmNow(VmState& vm) = 0;
  // The VM's clients or ranges changed; its clients_mu is held.
  virtual void RoutingChangedLocked(VmState& vm) = 0;
  // The last Pause() ended: catch the upcalls missed meanwhile.
  virtual void Resumed() = 0;

  // Before `client` serves: claims the requests it owns (direct topology).
  // Returns how many slots it took.
  virtual int Take(ClientState& client) = 0;
  // Waits for `client`'s doorbell; false when the rescan interval passed
  // without a ring (only where the engine rescans).
  virtual bool WaitForWork(ClientState& client) = 0;
  // Polls `client`'s doorbell for up to `window` (HsmOptions::service_poll);
  // true if a ring came, which the next WaitForWork() consumes at once.
  virtual bool PollForWork(ClientState& client, absl::Duration window) = 0;
  // Rings `client`'s doorbell.
  virtual void Ring(ClientState& client) = 0;
  // System calls made by the engine's doorbells and by `client`'s.
  virtual uint64_t syscalls() const = 0;
  virtual uint64_t syscalls(const ClientState& client) const = 0;
};

// What both engines do the same for doorbell `Bell`.
template <typename Bell>
class EngineWithBell : public RoutingEngine {
 public:
  std::shared_ptr<ClientState> NewClient() override {
    return std::make_shared<ClientOf<Bell>>();
  }
  bool PollForWork(ClientState& client, absl::Duration window) override {
    return PollForRing(BellOf<Bell>(client), window);
  }
  void Ring(ClientState& client) override { BellOf<Bell>(client).Ring(); }
  uint64_t syscalls(const ClientState& client) const override {
    return static_cast<const ClientOf<Bell>&>(client).bell.syscalls();
  }
};

// The engine of `context.options.topology` with the doorbells of
// `strategy`.
std::unique_ptr<RoutingEngine> MakeEngine(Strategy strategy,
                                          HsmContext& context);

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_ENGINE_H_
