#include "core/hsm/internal/registry.h"

#include <utility>

#include "absl/strings/str_format.h"

namespace ioreq {
namespace hsm_internal {

Registry::~Registry() {
  for (std::atomic<VmPage*>& page : vm_pages_) {
    delete page.load(std::memory_order_relaxed);
  }
}

absl::Status Registry::AddVm(std::shared_ptr<VmState> vm) {
  const uint16_t vmid = vm->vmid;
  VmState* raw = vm.get();
  std::unique_lock<std::shared_mutex> lock(vms_mu_);
  if (!vms_.emplace(vmid, std::move(vm)).second) {
    return absl::AlreadyExistsError(absl::StrFormat("VM %u exists", vmid));
  }
  std::atomic<VmPage*>& slot = vm_pages_[vmid >> 8];
  VmPage* page = slot.load(std::memory_order_relaxed);
  if (page == nullptr) {
    page = new VmPage;
    slot.store(page, std::memory_order_release);  // pairs with VmInPass()
  }
  // Pairs with the acquire load in VmInPass().
  page->vms[vmid & 0xff].store(raw, std::memory_order_release);
  return absl::OkStatus();
}

void Registry::RemoveVm(uint16_t vmid) {
  std::unique_lock<std::shared_mutex> lock(vms_mu_);
  if (vms_.erase(vmid) == 0) return;
  // While paused (DestroyVm()): no pass holds the pointer.
  vm_pages_[vmid >> 8].load(std::memory_order_relaxed)->vms[vmid & 0xff].store(
      nullptr, std::memory_order_relaxed);
}

absl::StatusOr<std::shared_ptr<VmState>> Registry::FindVm(
    uint16_t vmid) const {
  std::shared_lock<std::shared_mutex> lock(vms_mu_);
  auto it = vms_.find(vmid);
  if (it == vms_.end()) {
    return absl::NotFoundError(absl::StrFormat("no VM %u", vmid));
  }
  return it->second;
}

std::vector<std::shared_ptr<VmState>> Registry::Vms() const {
  std::shared_lock<std::shared_mutex> lock(vms_mu_);
  std::vector<std::shared_ptr<VmState>> vms;
  for (const auto& [id, vm] : vms_) vms.push_back(vm);
  return vms;
}

absl::StatusOr<ClientId> Registry::Attach(
    VmState& vm, std::shared_ptr<ClientState> client) {
  // The kernel checks vm->default_client in the ioctl, then creates the
  // client later under the lock: two racing creators both succeed. Here the
  // check and the insertion are one step under clients_mu.
  std::lock_guard<std::mutex> vm_lock(vm.clients_mu);
  if (client->is_default && vm.default_client) {
    return absl::AlreadyExistsError(
        absl::StrFormat("VM %u already has a default client", vm.vmid));
  }
  {
    std::lock_guard<std::mutex> lock(clients_mu_);
    client->id = next_client_id_++;
    clients_.emplace(client->id, client);
  }
  if (client->is_default) {
    vm.default_client = client;
    // Pairs with the acquire load in RouteSnapshotWithoutLock(): the
    // client's fields are visible with the pointer.
    vm.default_client_in_pass.store(client.get(), std::memory_order_release);
  } else {
    // list_add(): newest first.
    vm.by_id[client->id] = client.get();
    vm.clients.insert(vm.clients.begin(), client);
  }
  return client->id;
}

void Registry::DetachLocked(VmState& vm, const ClientState& client) {
  if (client.is_default) {
    vm.default_client_in_pass.store(nullptr, std::memory_order_release);
    vm.default_client.reset();
    return;
  }
  for (auto it = vm.clients.begin(); it != vm.clients.end(); ++it) {
    if (it->get() == &client) {
      vm.clients.erase(it);
      break;
    }
  }
  vm.by_id.erase(client.id);
  vm.reference_ranges.RemoveClient(client.id);
  vm.range_index.RemoveClient(client.id);
}

absl::StatusOr<std::shared_ptr<ClientState>> Registry::FindClient(
    ClientId id) const {
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return absl::NotFoundError(absl::StrFormat("no client %u", id));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<ClientState>> Registry::TakeClient(
    ClientId id) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return absl::NotFoundError(absl::StrFormat("no client %u", id));
  }
  std::shared_ptr<ClientState> client = std::move(it->second);
  clients_.erase(it);
  return client;
}

}  // namespace hsm_internal
}  // namespace ioreq
