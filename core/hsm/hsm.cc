#include "core/hsm/hsm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "core/hsm/cf8cfc.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"

namespace ioreq {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};
constexpr absl::Duration kHandlerRetryBackoff = absl::Milliseconds(1);
constexpr absl::Duration kClearPollInterval = absl::Milliseconds(10);

inline uint32_t Bit(uint32_t vcpu) { return uint32_t{1} << vcpu; }
inline uint32_t LowestBit(uint32_t bits) {
  return static_cast<uint32_t>(__builtin_ctz(bits));
}

}  // namespace

const char* TopologyName(Topology topology) {
  return topology == Topology::kDirect ? "direct" : "kernel";
}

absl::StatusOr<Topology> ParseTopology(absl::string_view name) {
  if (name == "kernel") return Topology::kKernel;
  if (name == "direct") return Topology::kDirect;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown topology '%s': one of kernel, direct", name));
}

template <typename Bell>
struct BasicHsm<Bell>::Counters {
  std::atomic<uint64_t> dispatch_passes{0}, dispatched{0}, completed{0},
      cf8cfc_in_place{0}, cf8cfc_converted{0}, completed_while_clearing{0},
      forced_by_clear{0}, rejected_invalid{0}, no_client{0},
      spurious_completions{0}, handed_over_on_destroy{0},
      completed_on_destroy{0}, handler_errors{0}, handler_gave_up{0},
      ownership_lost{0}, hypercall_errors{0}, rescans{0},
      rescued_by_rescan{0}, rerouted{0};
};

#define IOREQ_COUNT(name) \
  counters_->name.fetch_add(1, std::memory_order_relaxed)

template <typename Bell>
struct BasicHsm<Bell>::Client {
  ClientId id = 0;
  std::string name;
  bool is_default = false;
  IoHandler handler;
  std::shared_ptr<Vm> vm;
  // The vCPUs whose requests this client holds (the kernel's ioreqs_map).
  std::atomic<uint32_t> pending{0};
  // ACRN_IOREQ_CLIENT_DESTROYING / kthread_should_stop().
  std::atomic<bool> destroying{false};
  // Cleared under the VM's clients_mu when the client leaves the VM.
  bool attached = true;
  Bell bell;  // the client's wait queue
  std::thread thread;
  int failed_attempts[kIoRequestMax] = {};  // serving thread only
};

template <typename Bell>
struct BasicHsm<Bell>::Vm {
  uint16_t vmid = 0;
  uint32_t vcpu_num = 0;
  std::atomic<SharedPage*> page{nullptr};
  // ACRN_VM_FLAG_CLEARING_IOREQ.
  std::atomic<bool> clearing{false};
  // The latched 0xCF8 value; only dispatch passes (under dispatch_mu_)
  // touch it.
  uint32_t pci_config_address = 0;

  // ioreq_clients_lock: guards everything below.
  std::mutex clients_mu;
  std::vector<std::shared_ptr<Client>> clients;  // non-default, newest first
  absl::flat_hash_map<ClientId, Client*> by_id;
  std::shared_ptr<Client> default_client;
  KernelRangeList reference_ranges;  // the kernel's structure
  RangeIndex range_index;            // what lookups use

  IoeventfdTable ioeventfds;  // has its own lock (ioeventfds_lock)
  ClientId ioeventfd_client = 0;

  // COMPLETE published per slot (SlotCompletions()); one line each, as the
  // slots are, so that vCPUs completing at once do not share one.
  struct alignas(64) PaddedCount {
    std::atomic<uint64_t> value{0};
  };
  std::array<PaddedCount, kIoRequestMax> slot_completions;
};

template <typename Bell>
BasicHsm<Bell>::BasicHsm(HypervisorCalls* hypervisor, HsmOptions options)
    : hypervisor_(hypervisor),
      options_(options),
      counters_(std::make_unique<Counters>()) {
  if (options_.run_threads && !direct()) {
    dispatcher_ = std::thread([this] { DispatcherLoop(); });
  }
}

template <typename Bell>
BasicHsm<Bell>::~BasicHsm() {
  std::vector<uint16_t> vmids;
  {
    std::shared_lock<std::shared_mutex> lock(vms_mu_);
    for (const auto& [id, vm] : vms_) vmids.push_back(id);
  }
  for (uint16_t id : vmids) DestroyVm(id).IgnoreError();
  // Pairs with the acquire load in DispatcherLoop() after its wake.
  stopping_.store(true, std::memory_order_release);
  upcall_.Ring();
  if (dispatcher_.joinable()) dispatcher_.join();
}

// ---------------------------------------------------------------------------
// Look-ups

template <typename Bell>
absl::StatusOr<std::shared_ptr<typename BasicHsm<Bell>::Vm>>
BasicHsm<Bell>::FindVm(uint16_t vmid) const {
  std::shared_lock<std::shared_mutex> lock(vms_mu_);
  auto it = vms_.find(vmid);
  if (it == vms_.end()) {
    return absl::NotFoundError(absl::StrFormat("no VM %u", vmid));
  }
  return it->second;
}

template <typename Bell>
absl::StatusOr<std::shared_ptr<typename BasicHsm<Bell>::Client>>
BasicHsm<Bell>::FindClientById(ClientId id) const {
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return absl::NotFoundError(absl::StrFormat("no client %u", id));
  }
  return it->second;
}

// ---------------------------------------------------------------------------
// VMs

template <typename Bell>
absl::Status BasicHsm<Bell>::CreateVm(uint16_t vmid, uint32_t vcpu_num) {
  if (vcpu_num < 1 || vcpu_num > static_cast<uint32_t>(kIoRequestMax)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vcpu_num %u: a VM has 1 to %d vCPUs", vcpu_num, kIoRequestMax));
  }
  auto vm = std::make_shared<Vm>();
  vm->vmid = vmid;
  vm->vcpu_num = vcpu_num;
  {
    std::unique_lock<std::shared_mutex> lock(vms_mu_);
    if (!vms_.emplace(vmid, vm).second) {
      return absl::AlreadyExistsError(absl::StrFormat("VM %u exists", vmid));
    }
  }
  // acrn_ioeventfd_init(): every VM has an ioeventfd client.
  Vm* raw = vm.get();
  absl::StatusOr<ClientId> client = CreateClient(
      vmid, "ioeventfd",
      [raw](IoRequest& req) { return raw->ioeventfds.Handle(req); },
      /*is_default=*/false);
  if (!client.ok()) return client.status();
  vm->ioeventfd_client = *client;
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::SetIoreqBuffer(uint16_t vmid, SharedPage* page) {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (page == nullptr ||
      reinterpret_cast<uintptr_t>(page) % kPageSize != 0) {
    return absl::InvalidArgumentError("the I/O request buffer must be a "
                                      "4 KiB-aligned page");
  }
  // Pairs with the acquire loads of `page` in Dispatch() and the serving
  // paths: the page's contents are visible with the pointer.
  (*vm)->page.store(page, std::memory_order_release);
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::DestroyVm(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::vector<ClientId> ids;
  {
    std::lock_guard<std::mutex> lock((*vm)->clients_mu);
    for (const auto& c : (*vm)->clients) ids.push_back(c->id);
    if ((*vm)->default_client) ids.push_back((*vm)->default_client->id);
  }
  for (ClientId id : ids) DestroyClient(id).IgnoreError();
  Pause();
  {
    std::unique_lock<std::shared_mutex> lock(vms_mu_);
    vms_.erase(vmid);
  }
  Resume();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Clients

template <typename Bell>
absl::StatusOr<ClientId> BasicHsm<Bell>::CreateClient(uint16_t vmid,
                                           absl::string_view name,
                                           IoHandler handler,
                                           bool is_default) {
  if (name.empty() || name.size() > kClientNameMax) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "client name \"%s\": 1 to %u characters", name, kClientNameMax));
  }
  if (!is_default && !handler) {
    return absl::InvalidArgumentError(
        "a non-default client needs a handler");
  }
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();

  auto client = std::make_shared<Client>();
  client->name = std::string(name);
  client->is_default = is_default;
  client->handler = std::move(handler);
  client->vm = *vm;
  {
    // The kernel checks vm->default_client in the ioctl, then creates the
    // client later under the lock: two racing creators both succeed. Here
    // the check and the insertion are one step under clients_mu.
    std::lock_guard<std::mutex> vm_lock((*vm)->clients_mu);
    if (is_default && (*vm)->default_client) {
      return absl::AlreadyExistsError(
          absl::StrFormat("VM %u already has a default client", vmid));
    }
    {
      std::lock_guard<std::mutex> lock(clients_mu_);
      client->id = next_client_id_++;
      clients_.emplace(client->id, client);
    }
    if (is_default) {
      (*vm)->default_client = client;
    } else {
      // list_add(): newest first.
      (*vm)->clients.insert((*vm)->clients.begin(), client);
      (*vm)->by_id[client->id] = client.get();
    }
  }
  if (!is_default && options_.run_threads) {
    Client* raw = client.get();
    client->thread = std::thread([this, raw] { ClientLoop(raw); });
  }
  if (direct()) RingClients(**vm);  // routing changed: everyone rescans
  return client->id;
}

template <typename Bell>
absl::Status BasicHsm<Bell>::DestroyClient(ClientId id) {
  std::shared_ptr<Client> client;
  {
    // Whoever removes the client from the registry destroys it; a second
    // caller gets NotFound.
    std::lock_guard<std::mutex> lock(clients_mu_);
    auto it = clients_.find(id);
    if (it == clients_.end()) {
      return absl::NotFoundError(absl::StrFormat("no client %u", id));
    }
    client = std::move(it->second);
    clients_.erase(it);
  }
  Pause();  // ioreq_pause(): no dispatch pass can see the client go
  // Pairs with the acquire loads in ClientLoop() and WaitForRequests().
  client->destroying.store(true, std::memory_order_release);
  client->bell.Ring();  // wake_up_interruptible() / kthread_stop()
  if (client->thread.joinable()) client->thread.join();
  {
    std::lock_guard<std::mutex> lock(client->vm->clients_mu);
    DestroyClientLocked(*client->vm, client);
    if (direct()) RingClientsLocked(*client->vm);  // routing changed
  }
  Resume();  // ioreq_resume(): dispatch once, for any upcall missed
  return absl::OkStatus();
}

template <typename Bell>
void BasicHsm<Bell>::DestroyClientLocked(Vm& vm, const std::shared_ptr<Client>& client) {
  client->attached = false;
  if (client->is_default) {
    vm.default_client.reset();
  } else {
    for (auto it = vm.clients.begin(); it != vm.clients.end(); ++it) {
      if (it->get() == client.get()) {
        vm.clients.erase(it);
        break;
      }
    }
    vm.by_id.erase(client->id);
    vm.reference_ranges.RemoveClient(client->id);
    vm.range_index.RemoveClient(client->id);
  }
  // The kernel frees the client here and its PROCESSING requests are never
  // completed: their vCPUs stay blocked. The model hands each one to the
  // default client, which takes what no range owns, or, when there is no
  // other client to take it, completes it with an all-ones value (what a
  // read from an absent device returns).
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  // Acquire pairs with the release fetch_or() of the dispatch that set each
  // bit; release pairs with the serving side's acquire load of `pending`.
  uint32_t left = client->pending.exchange(0, std::memory_order_acq_rel);
  while (left != 0) {
    const uint32_t vcpu = LowestBit(left);
    left &= left - 1;
    if (page == nullptr) continue;
    IoRequest& slot = page->slots[vcpu];
    if (!client->is_default && vm.default_client) {
      slot.kernel_handled = 0;
      // Pairs with the acquire load of `pending` by the default client's
      // waiter; the slot stays PROCESSING, already released by dispatch.
      vm.default_client->pending.fetch_or(Bit(vcpu),
                                          std::memory_order_release);
      vm.default_client->bell.Ring();
      IOREQ_COUNT(handed_over_on_destroy);
    } else {
      SetRequestValue(slot, kAllOnes);
      CompleteSlot(vm, vcpu, kStateProcessing);
      IOREQ_COUNT(completed_on_destroy);
    }
  }
}

template <typename Bell>
absl::Status BasicHsm<Bell>::AddRange(ClientId id, uint32_t type, uint64_t start,
                           uint64_t end) {
  const IoRange range{type, start, end};
  if (absl::Status valid = ValidateRange(range); !valid.ok()) return valid;
  absl::StatusOr<std::shared_ptr<Client>> client = FindClientById(id);
  if (!client.ok()) return client.status();
  if ((*client)->is_default) {
    return absl::InvalidArgumentError(
        "the default client takes what no range owns; it has no ranges");
  }
  Vm& vm = *(*client)->vm;
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  if (!(*client)->attached) {
    return absl::NotFoundError(absl::StrFormat("client %u is gone", id));
  }
  vm.reference_ranges.Add(id, range);
  vm.range_index.Add(id, range);
  if (direct()) RingClientsLocked(vm);
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::DelRange(ClientId id, uint32_t type, uint64_t start,
                           uint64_t end) {
  const IoRange range{type, start, end};
  absl::StatusOr<std::shared_ptr<Client>> client = FindClientById(id);
  if (!client.ok()) return client.status();
  Vm& vm = *(*client)->vm;
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  if (!vm.reference_ranges.Remove(id, range)) {
    return absl::NotFoundError(absl::StrFormat(
        "client %u has no range type %u [0x%x, 0x%x]", id, type, start, end));
  }
  const bool removed = vm.range_index.Remove(id, range);
  if (!removed && options_.check_range_index) {
    std::fprintf(stderr, "ioreq: range index lost a range the list had\n");
    std::abort();
  }
  if (direct()) RingClientsLocked(vm);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Routing [find-client]

template <typename Bell>
typename BasicHsm<Bell>::Client* BasicHsm<Bell>::FindClient(
    Vm& vm, const IoRequest& req) {
  // PCICFG never matches a range: the default client emulates PCI.
  if (req.type == kTypePciCfg) return vm.default_client.get();
  const IoAccess a = DecodeAccess(req);
  const std::optional<ClientId> owner =
      vm.range_index.Find(a.type, a.address, a.size);
  if (options_.check_range_index) {
    const std::optional<ClientId> reference =
        vm.reference_ranges.Find(a.type, a.address, a.size);
    if (reference != owner) {
      std::fprintf(stderr,
                   "ioreq: range index and linear scan disagree on type %u "
                   "addr 0x%llx size %llu\n",
                   a.type, static_cast<unsigned long long>(a.address),
                   static_cast<unsigned long long>(a.size));
      std::abort();
    }
  }
  if (owner) {
    auto it = vm.by_id.find(*owner);
    if (it != vm.by_id.end()) return it->second;
  }
  return vm.default_client.get();
}

// ---------------------------------------------------------------------------
// Dispatch [dispatch]

template <typename Bell>
void BasicHsm<Bell>::Upcall(uint16_t vmid, uint32_t vcpu) {
  if (direct()) {
    absl::StatusOr<std::shared_ptr<Vm>> found = FindVm(vmid);
    if (!found.ok()) return;
    Vm& vm = **found;
    SharedPage* page = vm.page.load(std::memory_order_acquire);
    if (page == nullptr || vcpu >= vm.vcpu_num) {
      RingClients(vm);
      return;
    }
    // Ring only the owner. Routing changes ring every client
    // (RingClients()), so a request whose owner changed after this look is
    // still rescanned by its new owner.
    const IoRequest snapshot = RouteSnapshot(page->slots[vcpu]);
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    Client* owner = DirectOwner(vm, snapshot, nullptr);
    if (owner != nullptr) owner->bell.Ring();
    return;
  }
  if (options_.run_threads) upcall_.Ring();  // queue_work()
}

template <typename Bell>
void BasicHsm<Bell>::RingClients(Vm& vm) {
  // Under the lock: a client cannot be freed while its bell is rung.
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  RingClientsLocked(vm);
}

template <typename Bell>
void BasicHsm<Bell>::RingClientsLocked(Vm& vm) {
  absl::InlinedVector<Bell*, 8> bells;
  for (const auto& c : vm.clients) bells.push_back(&c->bell);
  if (vm.default_client) bells.push_back(&vm.default_client->bell);
  Bell::RingMany(bells.data(), bells.size());
}

template <typename Bell>
void BasicHsm<Bell>::DispatcherLoop() {
  for (;;) {
    // [rescan]: without a ring for rescan_interval, a pass runs anyway.
    const bool rung = upcall_.WaitFor(options_.rescan_interval);
    if (stopping_.load(std::memory_order_acquire)) return;
    if (rung) {
      Dispatch();
      continue;
    }
    IOREQ_COUNT(rescans);
    // Passes are exclusive (dispatch_mu_), but ClearRequests() may dispatch
    // between the two loads: the difference is an estimate, for statistics.
    const uint64_t before = counters_->dispatched.load(std::memory_order_relaxed);
    Dispatch();
    counters_->rescued_by_rescan.fetch_add(
        counters_->dispatched.load(std::memory_order_relaxed) - before,
        std::memory_order_relaxed);
  }
}

template <typename Bell>
bool BasicHsm<Bell>::paused() const {
  return pause_depth_.load(std::memory_order_acquire) > 0;
}

template <typename Bell>
void BasicHsm<Bell>::Pause() {
  // Pairs with the acquire load in paused().
  pause_depth_.fetch_add(1, std::memory_order_acq_rel);
  // drain_workqueue(): a pass (or claim scan) in progress holds dispatch_mu_
  // to its end, and every later one sees pause_depth_ > 0.
  std::unique_lock<std::shared_mutex> drain(dispatch_mu_);
}

template <typename Bell>
void BasicHsm<Bell>::Resume() {
  // Pairs with the acquire load in paused().
  const bool rearmed =
      pause_depth_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  if (!rearmed) return;
  if (direct()) {
    std::vector<std::shared_ptr<Vm>> vms;
    {
      std::shared_lock<std::shared_mutex> lock(vms_mu_);
      for (const auto& [id, vm] : vms_) vms.push_back(vm);
    }
    for (const auto& vm : vms) RingClients(*vm);
  } else if (options_.run_threads) {
    upcall_.Ring();
  } else {
    Dispatch();
  }
}

template <typename Bell>
void BasicHsm<Bell>::Dispatch() {
  if (direct()) return;  // no dispatcher: the clients claim for themselves
  std::unique_lock<std::shared_mutex> pass(dispatch_mu_);
  if (paused()) return;
  IOREQ_COUNT(dispatch_passes);
  std::vector<Bell*> wakes;
  {
    std::shared_lock<std::shared_mutex> lock(vms_mu_);
    for (const auto& [id, vm] : vms_) {
      // The kernel stops at the first VM without a buffer, starving every VM
      // after it; the model skips that VM and goes on.
      if (vm->page.load(std::memory_order_acquire) == nullptr) continue;
      DispatchVm(*vm, wakes);
    }
  }
  // One call for every wake of the pass (one io_uring_enter with the uring
  // strategy). Safe after the locks: no client can be destroyed while the
  // pass holds dispatch_mu_ (DestroyClient() pauses first).
  Bell::RingMany(wakes.data(), wakes.size());
}

template <typename Bell>
void BasicHsm<Bell>::DispatchVm(Vm& vm, std::vector<Bell*>& wakes) {
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return;
  for (uint32_t i = 0; i < vm.vcpu_num; ++i) {
    IoRequest& req = page->slots[i];
    // Pairs with the hypervisor's StoreStateRelease(PENDING) in
    // Hypervisor::InsertRequest(): the fields of a PENDING slot are visible.
    if (LoadStateAcquire(req) != kStatePending) continue;

    if (vm.clearing.load(std::memory_order_acquire)) {
      CompleteSlot(vm, i, kStatePending);
      IOREQ_COUNT(completed_while_clearing);
      continue;
    }
    // Not in the kernel: a request the model cannot route safely is
    // answered at once, as a read of nothing, and counted.
    if (CheckRequest(req) != SlotCheck::kValid) {
      SetRequestValue(req, kAllOnes);
      CompleteSlot(vm, i, kStatePending);
      IOREQ_COUNT(rejected_invalid);
      continue;
    }
    const Cf8CfcOutcome pci = HandleCf8Cfc(vm.pci_config_address, req);
    if (pci == Cf8CfcOutcome::kCompletedInPlace) {
      CompleteSlot(vm, i, kStatePending);
      IOREQ_COUNT(cf8cfc_in_place);
      continue;
    }
    if (pci == Cf8CfcOutcome::kConvertedToPciCfg) {
      IOREQ_COUNT(cf8cfc_converted);
      if (CheckRequest(req) != SlotCheck::kValid) {  // e.g. reg 0xFFF, size 4
        SetRequestValue(req, kAllOnes);
        CompleteSlot(vm, i, kStatePending);
        IOREQ_COUNT(rejected_invalid);
        continue;
      }
    }

    std::lock_guard<std::mutex> lock(vm.clients_mu);
    Client* client = FindClient(vm, req);
    if (client == nullptr) {
      // No client at all: the request stays PENDING (the kernel returns
      // -EINVAL and abandons the rest of this VM's slots; the model goes on
      // with the next slot).
      IOREQ_COUNT(no_client);
      continue;
    }
    req.kernel_handled = client->is_default ? 0 : 1;
    // The kernel's smp_store_release(PROCESSING), as a compare-exchange so
    // that a hypervisor that rewrote the state meanwhile is noticed. Pairs
    // with the serving side's LoadStateAcquire() in ServeClientRequests() /
    // ServeDefaultRequests(): kernel_handled and any 0xCFC rewrite are
    // visible once PROCESSING is.
    if (!CompareExchangeState(req, kStatePending, kStateProcessing)) {
      IOREQ_COUNT(ownership_lost);
      continue;
    }
    // set_bit(). Release pairs with the acquire loads of `pending` in
    // ClientLoop() and WaitForRequests().
    client->pending.fetch_or(Bit(i), std::memory_order_release);
    IOREQ_COUNT(dispatched);
    // wake_up_interruptible(): deferred to the end of the pass, once per
    // client.
    if (std::find(wakes.begin(), wakes.end(), &client->bell) == wakes.end()) {
      wakes.push_back(&client->bell);
    }
  }
}

// ---------------------------------------------------------------------------
// The direct topology: clients claim for themselves

template <typename Bell>
int BasicHsm<Bell>::ClaimAndRing(Client& claimer) {
  std::vector<Bell*> wakes;
  const int claimed = ClaimVm(*claimer.vm, claimer, wakes);
  Bell::RingMany(wakes.data(), wakes.size());
  return claimed;
}

template <typename Bell>
typename BasicHsm<Bell>::Client* BasicHsm<Bell>::DirectOwner(
    Vm& vm, const IoRequest& snapshot, Client* claimer) {
  Client* const fallback = vm.default_client.get();
  // Clearing and invalid requests are answered by the default client, or,
  // without one, by whichever client claims them first.
  if (vm.clearing.load(std::memory_order_acquire) ||
      CheckRequest(snapshot) != SlotCheck::kValid) {
    return fallback != nullptr ? fallback : claimer;
  }
  // The default client folds 0xCF8/0xCFC and emulates PCI.
  if (snapshot.type == kTypePciCfg || IsConfigAddressAccess(snapshot) ||
      IsConfigDataAccess(snapshot)) {
    return fallback;
  }
  return FindClient(vm, snapshot);
}

template <typename Bell>
int BasicHsm<Bell>::ClaimVm(Vm& vm, Client& claimer,
                            std::vector<Bell*>& wakes) {
  std::shared_lock<std::shared_mutex> scan(dispatch_mu_);
  if (paused()) return 0;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return 0;
  int claimed = 0;
  for (uint32_t i = 0; i < vm.vcpu_num; ++i) {
    IoRequest& req = page->slots[i];
    // Pairs with the hypervisor's StoreStateRelease(PENDING).
    if (LoadStateAcquire(req) != kStatePending) continue;
    // Other clients scan this slot too, and it may be completed and reused
    // while we look: route on a relaxed snapshot, claim with a
    // compare-exchange, and only then trust the fields.
    const IoRequest snapshot = RouteSnapshot(req);
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    Client* const fallback = vm.default_client.get();
    if (DirectOwner(vm, snapshot, &claimer) != &claimer) continue;
    // Acquire pairs with the hypervisor's release of PENDING; release pairs
    // with the serving side's acquire of PROCESSING.
    if (!CompareExchangeState(req, kStatePending, kStateProcessing)) continue;
    ++claimed;

    // The slot is ours: decide again on its real fields.
    if (vm.clearing.load(std::memory_order_acquire)) {
      CompleteSlot(vm, i, kStateProcessing);
      IOREQ_COUNT(completed_while_clearing);
      continue;
    }
    if (CheckRequest(req) != SlotCheck::kValid) {
      SetRequestValue(req, kAllOnes);
      CompleteSlot(vm, i, kStateProcessing);
      IOREQ_COUNT(rejected_invalid);
      continue;
    }
    if (claimer.is_default) {  // only the default client owns the latch
      const Cf8CfcOutcome folded = HandleCf8Cfc(vm.pci_config_address, req);
      if (folded == Cf8CfcOutcome::kCompletedInPlace) {
        CompleteSlot(vm, i, kStateProcessing);
        IOREQ_COUNT(cf8cfc_in_place);
        continue;
      }
      if (folded == Cf8CfcOutcome::kConvertedToPciCfg) {
        IOREQ_COUNT(cf8cfc_converted);
        if (CheckRequest(req) != SlotCheck::kValid) {
          SetRequestValue(req, kAllOnes);
          CompleteSlot(vm, i, kStateProcessing);
          IOREQ_COUNT(rejected_invalid);
          continue;
        }
      }
    }
    Client* real = (req.type == kTypePciCfg || IsConfigAddressAccess(req) ||
                    IsConfigDataAccess(req))
                       ? fallback
                       : FindClient(vm, req);
    if (real == nullptr) {
      // No client at all: give the request back, PENDING, as the kernel
      // leaves it. Release pairs with the next scanner's acquire.
      StoreStateRelease(req, kStatePending);
      IOREQ_COUNT(no_client);
      continue;
    }
    if (real != &claimer) {
      // The slot was completed and reused between our snapshot and our
      // compare-exchange: it holds another request than the one we routed,
      // and it is not ours. Give it back PENDING and ring its owner, which
      // claims it the normal way; handing it over directly would skip what
      // only the owner's claim does (the default client folds 0xCF8/0xCFC:
      // a raw 0xCF8 write handed to it completed without moving the latch,
      // found by a 10-minute soak). Release pairs with the owner's
      // compare-exchange.
      StoreStateRelease(req, kStatePending);
      IOREQ_COUNT(rerouted);
      wakes.push_back(&real->bell);
      continue;
    }
    req.kernel_handled = real->is_default ? 0 : 1;
    // set_bit(). Release pairs with the acquire loads of `pending`.
    real->pending.fetch_or(Bit(i), std::memory_order_release);
    IOREQ_COUNT(dispatched);
  }
  return claimed;
}

// ---------------------------------------------------------------------------
// Completion [complete]

template <typename Bell>
void BasicHsm<Bell>::CompleteSlot(Vm& vm, uint32_t vcpu, uint32_t expected) {
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  IoRequest& req = page->slots[vcpu];
  // Read completion_polling BEFORE COMPLETE is published: from then on the
  // slot is the hypervisor's and may already hold its next request.
  const bool polling = req.completion_polling != 0;
  // smp_store_release(COMPLETE), as a compare-exchange from the state the
  // HSM owns. Pairs with the hypervisor's LoadStateAcquire() in
  // Hypervisor::WaitForCompletion(): a read's value is visible with COMPLETE.
  if (!CompareExchangeState(req, expected, kStateComplete)) {
    IOREQ_COUNT(ownership_lost);
    return;
  }
  IOREQ_COUNT(completed);
  vm.slot_completions[vcpu].value.fetch_add(1, std::memory_order_relaxed);
  if (!polling) {
    if (!hypervisor_->NotifyRequestFinish(vm.vmid, vcpu).ok()) {
      IOREQ_COUNT(hypercall_errors);
    }
  }
}

template <typename Bell>
absl::Status BasicHsm<Bell>::CompleteRequest(Vm& vm, Client& client, uint32_t vcpu) {
  if (vcpu >= vm.vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vm.vmid, vm.vcpu_num));
  }
  // clear_bit(). The kernel completes whatever the slot holds; the model
  // completes only a request this client was given, so a stray completion
  // cannot turn a FREE slot COMPLETE or complete a request twice.
  const uint32_t before =
      client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
  if ((before & Bit(vcpu)) == 0) {
    IOREQ_COUNT(spurious_completions);
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u: client \"%s\" holds no request of that vCPU",
        vm.vmid, vcpu, client.name));
  }
  CompleteSlot(vm, vcpu, kStateProcessing);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// In-process clients: ioreq_task()

template <typename Bell>
void BasicHsm<Bell>::ClientLoop(Client* client) {
  if (direct()) {
    bool rescan = false;  // woken by rescan_interval, not by a ring
    for (;;) {
      const bool stop = client->destroying.load(std::memory_order_acquire);
      if (!stop) {
        const int claimed = ClaimAndRing(*client);
        if (rescan) {
          IOREQ_COUNT(rescans);
          counters_->rescued_by_rescan.fetch_add(claimed,
                                                 std::memory_order_relaxed);
        }
      }
      // Acquire pairs with the release fetch_or() of a claim or hand-over.
      if (client->pending.load(std::memory_order_acquire) != 0) {
        const absl::Status served = ServeClientRequests(*client);
        if (stop) return;
        if (!served.ok()) absl::SleepFor(kHandlerRetryBackoff);
        continue;
      }
      if (stop) return;
      // Rung by RingClients() or Upcall() after a PENDING store; [rescan]
      // after rescan_interval without a ring.
      rescan = !client->bell.WaitFor(options_.rescan_interval);
    }
  }
  for (;;) {
    // [client-wait]. The acquire load pairs with the dispatcher's release
    // fetch_or() of the bit.
    while (client->pending.load(std::memory_order_acquire) == 0 &&
           !client->destroying.load(std::memory_order_acquire)) {
      client->bell.Wait();
    }
    const absl::Status served = ServeClientRequests(*client);
    // Like kthread_should_stop() in the kernel's loop: checked only after
    // the pending requests were served.
    if (client->destroying.load(std::memory_order_acquire)) return;
    if (!served.ok()) absl::SleepFor(kHandlerRetryBackoff);
  }
}

template <typename Bell>
absl::Status BasicHsm<Bell>::ServeClient(ClientId id) {
  std::shared_ptr<Client> client;
  {
    std::lock_guard<std::mutex> lock(clients_mu_);
    auto it = clients_.find(id);
    if (it != clients_.end()) client = it->second;
  }
  if (!client) {
    return absl::NotFoundError(absl::StrFormat("no client %u", id));
  }
  if (client->is_default) {
    return absl::InvalidArgumentError(
        "the default client is served by ServeDefaultRequests()");
  }
  if (direct()) ClaimAndRing(*client);
  return ServeClientRequests(*client);
}

template <typename Bell>
absl::Status BasicHsm<Bell>::ServeClientRequests(Client& client_ref) {
  Client* client = &client_ref;
  Vm& vm = *client->vm;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  for (;;) {
    // Pairs with the dispatcher's release fetch_or() of the bit.
    const uint32_t bits = client->pending.load(std::memory_order_acquire);
    if (bits == 0 || page == nullptr) return absl::OkStatus();
    const uint32_t vcpu = LowestBit(bits);  // find_first_bit()
    IoRequest& req = page->slots[vcpu];
    // Pairs with the dispatcher's release of PROCESSING in DispatchVm().
    if (LoadStateAcquire(req) != kStateProcessing) {
      // Drop the bit: pairs with the acquire loads of `pending` elsewhere.
      client->pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
      IOREQ_COUNT(ownership_lost);
      continue;
    }
    // The kernel hands its handler the shared slot itself, which the
    // hypervisor may rewrite under it. The model hands over a copy that it
    // checked, so a handler only ever sees a request that passed
    // CheckRequest() (the dispatcher's check was of earlier contents), and
    // writes the value back.
    IoRequest copy;
    std::memcpy(static_cast<void*>(&copy), &req, sizeof(copy));
    if (CheckRequest(copy) != SlotCheck::kValid) {
      IOREQ_COUNT(rejected_invalid);
      SetRequestValue(req, kAllOnes);
      client->failed_attempts[vcpu] = 0;
      CompleteRequest(vm, *client, vcpu).IgnoreError();
      continue;
    }
    absl::Status handled = client->handler(copy);
    if (!handled.ok()) {
      IOREQ_COUNT(handler_errors);
      // The kernel leaves the bit set and retries for ever; the model
      // retries, then answers all-ones so the vCPU is not blocked for ever.
      if (++client->failed_attempts[vcpu] < options_.handler_max_attempts) {
        return handled;
      }
      IOREQ_COUNT(handler_gave_up);
      SetRequestValue(copy, kAllOnes);
    }
    SetRequestValue(req, RequestValue(copy));
    client->failed_attempts[vcpu] = 0;
    CompleteRequest(vm, *client, vcpu).IgnoreError();
  }
}

// ---------------------------------------------------------------------------
// The default client (user space)

template <typename Bell>
absl::StatusOr<uint32_t> BasicHsm<Bell>::WaitForRequests(ClientId id) {
  absl::StatusOr<std::shared_ptr<Client>> client = FindClientById(id);
  if (!client.ok()) return client.status();
  if (!(*client)->is_default) {
    return absl::InvalidArgumentError(
        "only the default client is attached from user space");
  }
  bool rescan = false;  // woken by rescan_interval, not by a ring
  for (;;) {
    if ((*client)->destroying.load(std::memory_order_acquire)) {
      return absl::CancelledError("the client is being destroyed");
    }
    if (direct()) {
      const int claimed = ClaimAndRing(**client);
      if (rescan) {
        IOREQ_COUNT(rescans);
        counters_->rescued_by_rescan.fetch_add(claimed,
                                               std::memory_order_relaxed);
      }
    }
    // Pairs with the release fetch_or() in DispatchVm(), ClaimVm() and
    // DestroyClientLocked().
    const uint32_t bits = (*client)->pending.load(std::memory_order_acquire);
    if (bits != 0) return bits;
    if (direct()) {
      // [rescan]: the default client claims from the page itself here, so
      // a lost upcall would strand its requests; scan again after a while.
      rescan = !(*client)->bell.WaitFor(options_.rescan_interval);
    } else {
      (*client)->bell.Wait();  // rung by the dispatcher, in process
    }
  }
}

template <typename Bell>
absl::Status BasicHsm<Bell>::InterruptWait(ClientId id) {
  absl::StatusOr<std::shared_ptr<Client>> client = FindClientById(id);
  if (!client.ok()) return client.status();
  // Pairs with the acquire load at the top of WaitForRequests()'s loop.
  (*client)->destroying.store(true, std::memory_order_release);
  (*client)->bell.Ring();
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::ServeDefaultRequests(ClientId id, const IoHandler& handler) {
  absl::StatusOr<std::shared_ptr<Client>> found = FindClientById(id);
  if (!found.ok()) return found.status();
  Client& client = **found;
  if (!client.is_default) {
    return absl::InvalidArgumentError("not the default client");
  }
  if (direct()) ClaimAndRing(client);
  Vm& vm = *client.vm;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return absl::OkStatus();
  uint32_t bits = client.pending.load(std::memory_order_acquire);
  while (bits != 0) {
    const uint32_t vcpu = LowestBit(bits);
    bits &= bits - 1;
    IoRequest& slot = page->slots[vcpu];
    IoRequest copy;
    {
      std::lock_guard<std::mutex> lock(vm.clients_mu);
      if ((client.pending.load(std::memory_order_acquire) & Bit(vcpu)) == 0) {
        continue;  // completed by ClearRequests() meanwhile
      }
      // Pairs with the dispatcher's release of PROCESSING.
      if (LoadStateAcquire(slot) != kStateProcessing) {
        // Drop the bit: pairs with the acquire loads of `pending` elsewhere.
        client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
        IOREQ_COUNT(ownership_lost);
        continue;
      }
      std::memcpy(static_cast<void*>(&copy), &slot, sizeof(copy));
    }
    // Checked again on the copy: the hypervisor may have rewritten the slot
    // since the dispatcher checked it, and the handler sees only the copy.
    if (CheckRequest(copy) != SlotCheck::kValid) {
      IOREQ_COUNT(rejected_invalid);
      SetRequestValue(copy, kAllOnes);
    } else if (!handler(copy).ok()) {
      IOREQ_COUNT(handler_errors);
      SetRequestValue(copy, kAllOnes);
    }
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    if ((client.pending.load(std::memory_order_acquire) & Bit(vcpu)) == 0) {
      continue;  // ClearRequests() or DestroyClient() answered it meanwhile
    }
    SetRequestValue(slot, RequestValue(copy));
    CompleteRequest(vm, client, vcpu).IgnoreError();
  }
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  // The full u32 is checked: the kernel passes it on as a u16, so vCPU
  // 65536 would complete vCPU 0's request.
  if (vcpu >= (*vm)->vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vmid, (*vm)->vcpu_num));
  }
  std::lock_guard<std::mutex> lock((*vm)->clients_mu);
  if (!(*vm)->default_client) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u has no default client", vmid));
  }
  if ((*vm)->page.load(std::memory_order_acquire) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u has no I/O request buffer", vmid));
  }
  return CompleteRequest(**vm, *(*vm)->default_client, vcpu);
}

// ---------------------------------------------------------------------------
// Clear and reset [clear]

template <typename Bell>
absl::Status BasicHsm<Bell>::ClearRequests(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<Vm>> found = FindVm(vmid);
  if (!found.ok()) return found.status();
  Vm& vm = **found;
  // Pairs with the acquire load in DispatchVm().
  vm.clearing.store(true, std::memory_order_release);
  {
    // Not in the kernel, which waits for the next upcall: one pass now
    // completes the requests already PENDING, including any that no client
    // could take.
    if (direct()) {
      RingClients(vm);
    } else {
      std::unique_lock<std::shared_mutex> pass(dispatch_mu_);
      if (!paused()) {
        std::vector<Bell*> wakes;
        DispatchVm(vm, wakes);
        Bell::RingMany(wakes.data(), wakes.size());
      }
    }
  }
  const absl::Time deadline = absl::Now() + options_.clear_drain_timeout;
  for (;;) {
    bool has_pending = false;
    {
      std::lock_guard<std::mutex> lock(vm.clients_mu);
      for (const auto& c : vm.clients) {
        if (c->pending.load(std::memory_order_acquire) != 0) {
          has_pending = true;
          break;
        }
      }
    }
    if (!has_pending || absl::Now() >= deadline) break;
    absl::SleepFor(kClearPollInterval);
  }
  {
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    if (vm.default_client && vm.page.load(std::memory_order_acquire)) {
      uint32_t bits = vm.default_client->pending.load(std::memory_order_acquire);
      while (bits != 0) {
        const uint32_t vcpu = LowestBit(bits);
        bits &= bits - 1;
        if (CompleteRequest(vm, *vm.default_client, vcpu).ok()) {
          IOREQ_COUNT(forced_by_clear);
        }
      }
    }
  }
  vm.clearing.store(false, std::memory_order_release);
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHsm<Bell>::ResetVm(uint16_t vmid) {
  if (absl::Status s = FindVm(vmid).status(); !s.ok()) return s;
  if (absl::Status s = hypervisor_->PauseVm(vmid); !s.ok()) return s;
  absl::Status result = ClearRequests(vmid);
  if (result.ok()) result = hypervisor_->ResetVm(vmid);
  absl::Status resumed = hypervisor_->ResumeVm(vmid);
  return result.ok() ? resumed : result;
}

// ---------------------------------------------------------------------------
// ioeventfd [ioeventfd]

template <typename Bell>
absl::Status BasicHsm<Bell>::Ioeventfd(uint16_t vmid, const IoeventfdArgs& args) {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (args.flags & kIoeventfdFlagDeassign) {
    absl::StatusOr<IoRange> range = (*vm)->ioeventfds.Deassign(args);
    if (!range.ok()) return range.status();
    return DelRange((*vm)->ioeventfd_client, range->type, range->start,
                    range->end);
  }
  absl::StatusOr<IoRange> range = (*vm)->ioeventfds.Assign(args);
  if (!range.ok()) return range.status();
  return AddRange((*vm)->ioeventfd_client, range->type, range->start,
                  range->end);
}

template <typename Bell>
const IoeventfdTable* BasicHsm<Bell>::ioeventfds(uint16_t vmid) const {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  return vm.ok() ? &(*vm)->ioeventfds : nullptr;
}

// ---------------------------------------------------------------------------
// Inspection

template <typename Bell>
absl::StatusOr<uint32_t> BasicHsm<Bell>::PendingBitmap(ClientId id) const {
  absl::StatusOr<std::shared_ptr<Client>> client = FindClientById(id);
  if (!client.ok()) return client.status();
  return (*client)->pending.load(std::memory_order_acquire);
}

template <typename Bell>
absl::StatusOr<std::string> BasicHsm<Bell>::HolderOf(uint16_t vmid,
                                                     uint32_t vcpu) const {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (vcpu >= (*vm)->vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vmid, (*vm)->vcpu_num));
  }
  std::lock_guard<std::mutex> lock((*vm)->clients_mu);
  // Acquire pairs with the release fetch_or() that gave the client the bit.
  for (const auto& c : (*vm)->clients) {
    if (c->pending.load(std::memory_order_acquire) & Bit(vcpu)) return c->name;
  }
  const auto& d = (*vm)->default_client;
  if (d && (d->pending.load(std::memory_order_acquire) & Bit(vcpu))) {
    return d->name;
  }
  return std::string();
}

template <typename Bell>
absl::StatusOr<std::array<uint64_t, kIoRequestMax>>
BasicHsm<Bell>::SlotCompletions(uint16_t vmid) const {
  absl::StatusOr<std::shared_ptr<Vm>> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::array<uint64_t, kIoRequestMax> counts{};
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = (*vm)->slot_completions[i].value.load(std::memory_order_relaxed);
  }
  return counts;
}

template <typename Bell>
HsmStats BasicHsm<Bell>::stats() const {
  HsmStats s;
  const Counters& c = *counters_;
  auto get = [](const std::atomic<uint64_t>& v) {
    return v.load(std::memory_order_relaxed);
  };
  s.dispatch_passes = get(c.dispatch_passes);
  s.dispatched = get(c.dispatched);
  s.completed = get(c.completed);
  s.cf8cfc_in_place = get(c.cf8cfc_in_place);
  s.cf8cfc_converted = get(c.cf8cfc_converted);
  s.completed_while_clearing = get(c.completed_while_clearing);
  s.forced_by_clear = get(c.forced_by_clear);
  s.rejected_invalid = get(c.rejected_invalid);
  s.no_client = get(c.no_client);
  s.spurious_completions = get(c.spurious_completions);
  s.handed_over_on_destroy = get(c.handed_over_on_destroy);
  s.completed_on_destroy = get(c.completed_on_destroy);
  s.handler_errors = get(c.handler_errors);
  s.handler_gave_up = get(c.handler_gave_up);
  s.ownership_lost = get(c.ownership_lost);
  s.hypercall_errors = get(c.hypercall_errors);
  s.rescans = get(c.rescans);
  s.rescued_by_rescan = get(c.rescued_by_rescan);
  s.rerouted = get(c.rerouted);
  return s;
}

template <typename Bell>
uint64_t BasicHsm<Bell>::syscalls() const {
  uint64_t total = upcall_.syscalls();
  std::lock_guard<std::mutex> lock(clients_mu_);
  for (const auto& [id, client] : clients_) total += client->bell.syscalls();
  return total;
}

#undef IOREQ_COUNT

template class BasicHsm<SpinDoorbell>;
template class BasicHsm<EventfdDoorbell>;
template class BasicHsm<UringDoorbell>;
template class BasicHsm<UringEventfdDoorbell>;
template class BasicHsm<FutexDoorbell>;
template class BasicHsm<AdaptiveDoorbell>;

}  // namespace ioreq
