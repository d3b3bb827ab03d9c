// core/hsm/internal/registry.h: the HSM's VMs and clients, by id.
//
// The VM map (acrn_vm_list_lock, lock 2 of vm_state.h's order) and the
// client-id map (lock 4), and the two steps that change a VM's clients:
// Attach() (the default-client check and the insertion are one step under
// the VM's clients_mu, so two racing creators cannot both succeed) and
// DetachLocked(). A client id names one client for ever: ids are never
// reused, and whoever Take()s a client from the map destroys it.
// VmInPass() finds a VM without either, for a request's own path.
//
// Example:
//   absl::StatusOr<std::shared_ptr<VmState>> vm = registry.FindVm(vmid);
//   absl::StatusOr<ClientId> id = registry.Attach(**vm, client);
#ifndef IOREQ_CORE_HSM_INTERNAL_REGISTRY_H_
#define IOREQ_CORE_HSM_INTERNAL_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace hsm_internal {

class Registry {
 public:
  absl::Status AddVm(std::shared_ptr<VmState> vm);  // AlreadyExists
  void RemoveVm(uint16_t vmid);
  absl::StatusOr<std::shared_ptr<VmState>> FindVm(uint16_t vmid) const;
  // The VM `vmid`, or null: no lock, no map, two loads (a table of atomics
  // kept beside the map, a page per 256 ids). For a request's own path, and
  // only inside a shared pass of the PassGate: DestroyVm() removes a VM
  // only while paused, so what this returns outlives the pass.
  VmState* VmInPass(uint16_t vmid) const {
    // Acquire pairs with the release stores in AddVm(): the page, then the
    // VM's fields, are visible with the pointers.
    const VmPage* page = vm_pages_[vmid >> 8].load(std::memory_order_acquire);
    if (page == nullptr) return nullptr;
    return page->vms[vmid & 0xff].load(std::memory_order_acquire);
  }
  std::vector<std::shared_ptr<VmState>> Vms() const;
  // Calls fn(VmState&) for every VM with the VM map locked (shared), in
  // VM id order: the dispatcher's pass.
  template <typename Fn>
  void ForEachVm(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> lock(vms_mu_);
    for (const auto& [id, vm] : vms_) fn(*vm);
  }

  // Gives the client an id and adds it to its VM (newest first) and to the
  // id map. AlreadyExists for a second default client.
  absl::StatusOr<ClientId> Attach(VmState& vm,
                                  std::shared_ptr<ClientState> client);
  // Removes the client from its VM (its ranges too); clients_mu held.
  static void DetachLocked(VmState& vm, const ClientState& client);

  absl::StatusOr<std::shared_ptr<ClientState>> FindClient(ClientId id) const;
  // Removes the client from the id map and returns it (NotFound if gone).
  absl::StatusOr<std::shared_ptr<ClientState>> TakeClient(ClientId id);
  // Calls fn(ClientState&) for every live client, the id map locked.
  template <typename Fn>
  void ForEachClient(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(clients_mu_);
    for (const auto& [id, client] : clients_) fn(*client);
  }

 Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

 private:
  struct VmPage {
    std::array<std::atomic<VmState*>, 256> vms{};
  };

  mutable std::shared_mutex vms_mu_;
  std::map<uint16_t, std::shared_ptr<VmState>> vms_;  // guarded by vms_mu_
  // VmInPass()'s table: the raw pointers of vms_, stored under vms_mu_;
  // pages are made on first use and kept to the end.
  std::array<std::atomic<VmPage*>, 256> vm_pages_{};

  mutable std::mutex clients_mu_;  // guards the two fields below
  std::map<ClientId, std::shared_ptr<ClientState>> clients_;
  ClientId next_client_id_ = 1;
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_REGISTRY_H_
