// core/hsm/internal/client_service.h: the clients' side of the HSM: serving
// in-process clients, the default client's user-space side, and what a
// destroyed client leaves behind.
//
//   ClientLoop()        ioreq_task(): an in-process client's thread
//   ServeInProcess()    one pass of its inner loop [client-wait]
//   WaitForRequests()   ACRN_IOCTL_ATTACH_IOREQ_CLIENT for the default client
//   ServeDefault()      the device model's emulate-and-finish for every
//                       request the default client holds [notify-finish]
//   HandOverLocked()    [destroy] the requests a destroyed client held
// A handler only ever sees a checked copy of the slot; only the value is
// written back. The same for both topologies: the engine's Take() claims
// first where the engine claims (direct), and its WaitForWork() waits.
//
// Example:
//   ClientService service(context, engine);
//   std::thread([&] { service.ClientLoop(client); });
#ifndef IOREQ_CORE_HSM_INTERNAL_CLIENT_SERVICE_H_
#define IOREQ_CORE_HSM_INTERNAL_CLIENT_SERVICE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/hsm/client.h"
#include "core/hsm/internal/engine.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace hsm_internal {

class ClientService {
 public:
  ClientService(HsmContext& context, RoutingEngine& engine)
      : ctx_(context), engine_(engine) {}

  // An in-process client's thread, until the client is destroying.
  void ClientLoop(ClientState& client);
  // Takes (direct) and handles the client's pending requests, lowest vCPU
  // first. Returns the first handler error (the request stays held).
  absl::Status ServeInProcess(ClientState& client);
  // Blocks until a request is pending for the default client (the bitmap)
  // or it is being destroyed (Cancelled).
  absl::StatusOr<uint32_t> WaitForRequests(ClientState& client);
  // Takes (direct) and serves every request the default client holds with
  // `handler`, unless a clear or a destroy completed it meanwhile.
  absl::Status ServeDefault(ClientState& client, const IoHandler& handler);
  // The kernel frees a destroyed client and its PROCESSING requests are
  // never completed. The model hands each to the default client or, when
  // there is no other client, completes it all-ones. clients_mu held; the
  // client is already detached.
  void HandOverLocked(VmState& vm, ClientState& client);

 private:
  // Handles the requests the client holds, lowest vCPU first.
  absl::Status ServeHeld(ClientState& client);
  // The copy of the slot the client's own claim checked and kept for
  // `vcpu` (ClientState::own_claims), if that claim is still the one the
  // pending bit stands for; null where the slot must be copied and checked
  // again.
  static const IoRequest* OwnClaim(const ClientState& client, uint32_t vcpu);
  // Completes the request the client served for `vcpu` and forgets its
  // retries and its kept access.
  void Finish(VmState& vm, ClientState& client, uint32_t vcpu);
  // Counts a scan that ran because rescan_interval passed without a ring.
  void CountRescan(int claimed);

  HsmContext& ctx_;
  RoutingEngine& engine_;
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_CLIENT_SERVICE_H_
