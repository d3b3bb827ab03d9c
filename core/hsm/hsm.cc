// core/hsm/hsm.cc: the facade. Each call checks its arguments, finds its VM
// or client in the registry and hands the work to the part that does it
// (core/hsm/internal/). Over 400 lines only because it is the one place that
// lists every ioctl-like call of the HSM; the logic lives in the parts.
#include "core/hsm/hsm.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/abi/slot_state.h"
#include "core/hsm/internal/client_service.h"
#include "core/hsm/internal/engine.h"
#include "core/hsm/internal/registry.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {

using hsm_internal::Bit;
using hsm_internal::ClientState;
using hsm_internal::Count;
using hsm_internal::LowestBit;
using hsm_internal::Registry;
using hsm_internal::VmState;

namespace {

constexpr absl::Duration kClearPollInterval = absl::Milliseconds(10);

// The vCPU id against the VM's vcpu_num, as the full u32: the kernel passes
// it on as a u16, so vCPU 65536 would name vCPU 0.
absl::Status CheckVcpu(const VmState& vm, uint32_t vcpu) {
  if (vcpu < vm.vcpu_num) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "vCPU %u: VM %u has %u vCPUs", vcpu, vm.vmid, vm.vcpu_num));
}

}  // namespace

const char* TopologyName(Topology topology) {
  return topology == Topology::kDirect ? "direct" : "kernel";
}

absl::StatusOr<Topology> ParseTopology(absl::string_view name) {
  for (Topology t : kAllTopologies) {
    if (name == TopologyName(t)) return t;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown topology '%s': one of kernel, direct", name));
}

Hsm::Hsm(HypervisorCalls* hypervisor, HsmOptions options, Strategy strategy)
    : strategy_(strategy),
      ctx_(std::make_unique<hsm_internal::HsmContext>(hypervisor, options)),
      engine_(hsm_internal::MakeEngine(strategy, *ctx_)),
      service_(std::make_unique<hsm_internal::ClientService>(*ctx_,
                                                             *engine_)) {}

Hsm::~Hsm() {
  for (const std::shared_ptr<VmState>& vm : ctx_->registry.Vms()) {
    DestroyVm(vm->vmid).IgnoreError();
  }
  engine_->Stop();
}

Topology Hsm::topology() const { return ctx_->options.topology; }

absl::StatusOr<std::shared_ptr<VmState>> Hsm::FindVcpu(uint16_t vmid,
                                                       uint32_t vcpu) const {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (absl::Status s = CheckVcpu(**vm, vcpu); !s.ok()) return s;
  return vm;
}

// ---------------------------------------------------------------------------
// VMs

absl::Status Hsm::CreateVm(uint16_t vmid, uint32_t vcpu_num) {
  if (vcpu_num < 1 || vcpu_num > static_cast<uint32_t>(kIoRequestMax)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vcpu_num %u: a VM has 1 to %d vCPUs", vcpu_num, kIoRequestMax));
  }
  auto vm = std::make_shared<VmState>();
  vm->vmid = vmid;
  vm->vcpu_num = vcpu_num;
  if (absl::Status added = ctx_->registry.AddVm(vm); !added.ok()) {
    return added;
  }
  // acrn_ioeventfd_init(): every VM has an ioeventfd client.
  VmState* raw = vm.get();
  absl::StatusOr<ClientId> client = CreateClient(
      vmid, "ioeventfd",
      [raw](IoAccess& access) { return raw->ioeventfds.Handle(access); },
      /*is_default=*/false);
  if (!client.ok()) return client.status();
  vm->ioeventfd_client = *client;
  return absl::OkStatus();
}

void Hsm::MarkSlotsTheKernels(SharedPage& page) {
  if (ctx_->options.topology != Topology::kDirect) return;
  // [kernel-handled] The direct topology's claims go on without a lock only
  // on a slot marked the kernel's (direct_claimer.h), so every slot is
  // marked while no claim can take it: a first request then needs no mark.
  // Neither ACRN's hypervisor nor its device model reads the field of a
  // slot that is not PROCESSING; a PROCESSING one keeps what it has.
  for (IoRequest& slot : page.slots) {
    if (LoadStateAcquire(slot) != kStateProcessing) {
      StoreKernelHandledRelaxed(slot, 1);
    }
  }
}

absl::Status Hsm::SetIoreqBuffer(uint16_t vmid, SharedPage* page) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (page == nullptr || reinterpret_cast<uintptr_t>(page) % kPageSize != 0) {
    return absl::InvalidArgumentError(
        "the I/O request buffer must be a 4 KiB-aligned page");
  }
  // [buffer] acrn_ioreq_init(): a VM keeps the page it was given first
  // (-EEXIST), so no request held in it is lost. Under `clients_mu` the
  // check, the marks and the store are one step for racing callers.
  std::lock_guard<std::mutex> lock((*vm)->clients_mu);
  if ((*vm)->page.load(std::memory_order_relaxed) != nullptr) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "VM %u already has its I/O request buffer", vmid));
  }
  MarkSlotsTheKernels(*page);  // before any claim can see the page
  // Pairs with the acquire loads of `page` in the engines and the serving
  // paths: the page's marks are visible with the pointer.
  (*vm)->page.store(page, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Hsm::DestroyVm(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::vector<ClientId> ids;
  {
    std::lock_guard<std::mutex> lock((*vm)->clients_mu);
    for (const auto& c : (*vm)->clients) ids.push_back(c->id);
    if ((*vm)->default_client) ids.push_back((*vm)->default_client->id);
  }
  for (ClientId id : ids) DestroyClient(id).IgnoreError();
  Pause();
  ctx_->registry.RemoveVm(vmid);
  Resume();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Clients [clients]

absl::StatusOr<ClientId> Hsm::CreateClient(uint16_t vmid,
                                           absl::string_view name,
                                           IoHandler handler,
                                           bool is_default) {
  if (name.empty() || name.size() > kClientNameMax) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "client name \"%s\": 1 to %u characters", name, kClientNameMax));
  }
  if (!is_default && !handler) {
    return absl::InvalidArgumentError("a non-default client needs a handler");
  }
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();

  std::shared_ptr<ClientState> client = engine_->NewClient();
  client->name = std::string(name);
  client->is_default = is_default;
  client->handler = std::move(handler);
  client->vm = *vm;
  absl::StatusOr<ClientId> id = ctx_->registry.Attach(**vm, client);
  if (!id.ok()) return id.status();
  if (!is_default && ctx_->options.run_threads) {
    ClientState* raw = client.get();
    client->thread = std::thread([this, raw] { service_->ClientLoop(*raw); });
    pthread_setname_np(client->thread.native_handle(), "hsm-client");
  }
  std::lock_guard<std::mutex> lock((*vm)->clients_mu);
  engine_->RoutingChangedLocked(**vm);
  return id;
}

absl::Status Hsm::DestroyClient(ClientId id) {
  // Whoever takes the client from the registry destroys it; a second caller
  // gets NotFound.
  absl::StatusOr<std::shared_ptr<ClientState>> taken =
      ctx_->registry.TakeClient(id);
  if (!taken.ok()) return taken.status();
  ClientState& client = **taken;
  Pause();  // ioreq_pause(): no routing pass can see the client go
  // Pairs with the acquire loads in ClientService's loops.
  client.destroying.store(true, std::memory_order_release);
  engine_->Ring(client);  // wake_up_interruptible() / kthread_stop()
  if (client.thread.joinable()) client.thread.join();
  {
    VmState& vm = *client.vm;
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    // Pairs with the acquire loads in the ClientHandle calls.
    client.attached.store(false, std::memory_order_release);
    Registry::DetachLocked(vm, client);
    service_->HandOverLocked(vm, client);
    engine_->RoutingChangedLocked(vm);
  }
  Resume();  // ioreq_resume(): route once, for any upcall missed
  return absl::OkStatus();
}

absl::Status Hsm::AddRange(ClientId id, uint32_t type, uint64_t start,
                           uint64_t end) {
  const IoRange range{type, start, end};
  if (absl::Status valid = ValidateRange(range); !valid.ok()) return valid;
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  if ((*client)->is_default) {
    return absl::InvalidArgumentError(
        "the default client takes what no range owns; it has no ranges");
  }
  VmState& vm = *(*client)->vm;
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  if (!(*client)->attached.load(std::memory_order_acquire)) {
    return absl::NotFoundError(absl::StrFormat("client %u is gone", id));
  }
  vm.reference_ranges.Add(id, range);
  vm.range_index.Add(id, range);
  engine_->RoutingChangedLocked(vm);
  return absl::OkStatus();
}

absl::Status Hsm::DelRange(ClientId id, uint32_t type, uint64_t start,
                           uint64_t end) {
  const IoRange range{type, start, end};
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  VmState& vm = *(*client)->vm;
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  if (!vm.reference_ranges.Remove(id, range)) {
    return absl::NotFoundError(absl::StrFormat(
        "client %u has no range type %u [0x%x, 0x%x]", id, type, start, end));
  }
  const bool removed = vm.range_index.Remove(id, range);
  if (!removed && ctx_->options.check_range_index) {
    std::fprintf(stderr, "ioreq: range index lost a range the list had\n");
    std::abort();
  }
  engine_->RoutingChangedLocked(vm);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The default client's user-space side

ClientId ClientHandle::id() const { return state_ ? state_->id : 0; }

absl::StatusOr<ClientHandle> Hsm::Resolve(ClientId id) const {
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  return ClientHandle(*std::move(client));
}

absl::StatusOr<uint32_t> Hsm::WaitForRequests(ClientId id) {
  absl::StatusOr<ClientHandle> client = Resolve(id);
  if (!client.ok()) return client.status();
  return WaitForRequests(*client);
}

// A handle outlives its client; the calls that take one refuse a client
// that has left its VM, as the id-based calls answer NotFound.
absl::Status Hsm::CheckAttached(const ClientHandle& client) {
  if (!client.valid()) return absl::InvalidArgumentError("no client");
  // Pairs with the release store in DestroyClient().
  if (!client.state_->attached.load(std::memory_order_acquire)) {
    return absl::NotFoundError(
        absl::StrFormat("client %u is gone", client.id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Hsm::WaitForRequests(const ClientHandle& client) {
  if (absl::Status s = CheckAttached(client); !s.ok()) return s;
  if (!client.state_->is_default) {
    return absl::InvalidArgumentError(
        "only the default client is attached from user space");
  }
  return service_->WaitForRequests(*client.state_);
}

absl::Status Hsm::InterruptWait(ClientId id) {
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  // Pairs with the acquire load at the top of WaitForRequests()'s loop.
  (*client)->destroying.store(true, std::memory_order_release);
  engine_->Ring(**client);
  return absl::OkStatus();
}

absl::Status Hsm::ServeDefaultRequests(ClientId id, const IoHandler& handler) {
  absl::StatusOr<ClientHandle> client = Resolve(id);
  if (!client.ok()) return client.status();
  return ServeDefaultRequests(*client, handler);
}

absl::Status Hsm::ServeDefaultRequests(const ClientHandle& client,
                                       const IoHandler& handler) {
  if (absl::Status s = CheckAttached(client); !s.ok()) return s;
  if (!client.state_->is_default) {
    return absl::InvalidArgumentError("not the default client");
  }
  return service_->ServeDefault(*client.state_, handler);
}

absl::Status Hsm::NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  return FinishDefault(**vm, /*client=*/nullptr, vcpu);
}

absl::Status Hsm::NotifyRequestFinish(const ClientHandle& client,
                                      uint32_t vcpu) {
  // The kernel's ioctl has the VM from the device model's file; the handle
  // has it from its client (which keeps its VM alive): no look-up.
  if (absl::Status s = CheckAttached(client); !s.ok()) return s;
  if (!client.state_->is_default) {
    return absl::InvalidArgumentError("not the default client");
  }
  return FinishDefault(*client.state_->vm, client.state_.get(), vcpu);
}

absl::Status Hsm::FinishDefault(VmState& vm, const ClientState* client,
                                uint32_t vcpu) {
  if (absl::Status s = CheckVcpu(vm, vcpu); !s.ok()) return s;
  // acrn_ioreq_request_default_complete() takes ioreq_clients_lock too.
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  if (!vm.default_client ||
      (client != nullptr && vm.default_client.get() != client)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u has no default client%s", vm.vmid,
                        client != nullptr ? " by that handle" : ""));
  }
  if (vm.page.load(std::memory_order_acquire) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u has no I/O request buffer", vm.vmid));
  }
  return ctx_->completer.CompleteRequest(vm, *vm.default_client, vcpu);
}

// ---------------------------------------------------------------------------
// Routing [dispatch] [pause]

void Hsm::Upcall(uint16_t vmid, uint32_t vcpu) { engine_->Upcall(vmid, vcpu); }

void Hsm::Dispatch() { engine_->Dispatch(); }

void Hsm::Pause() { ctx_->gate.Pause(); }

void Hsm::Resume() {
  if (ctx_->gate.Resume()) engine_->Resumed();
}

// ---------------------------------------------------------------------------
// Clear and reset [clear]

absl::Status Hsm::ClearRequests(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<VmState>> found = ctx_->registry.FindVm(vmid);
  if (!found.ok()) return found.status();
  VmState& vm = **found;
  // Pairs with the acquire load in RouteRequest().
  vm.clearing.store(true, std::memory_order_release);
  // Not in the kernel, which waits for the next upcall: route now, so the
  // requests already PENDING (including any that no client could take)
  // complete at once.
  engine_->RouteVmNow(vm);
  const absl::Time deadline = absl::Now() + ctx_->options.clear_drain_timeout;
  for (;;) {
    bool has_pending = false;
    {
      std::lock_guard<std::mutex> lock(vm.clients_mu);
      for (const auto& c : vm.clients) {
        // Pairs with the release fetch_or() that gave the client the bit.
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
      uint32_t bits =
          vm.default_client->pending.load(std::memory_order_acquire);
      while (bits != 0) {
        const uint32_t vcpu = LowestBit(bits);
        bits &= bits - 1;
        if (ctx_->completer.CompleteRequest(vm, *vm.default_client, vcpu)
                .ok()) {
          Count(ctx_->counters.forced_by_clear);
        }
      }
    }
  }
  // Pairs with the acquire load in RouteRequest().
  vm.clearing.store(false, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Hsm::ResetVm(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<VmState>> found = ctx_->registry.FindVm(vmid);
  if (!found.ok()) return found.status();
  HypervisorCalls* hv = ctx_->hypervisor;
  if (absl::Status s = hv->PauseVm(vmid); !s.ok()) return s;
  absl::Status result = ClearRequests(vmid);
  if (result.ok()) result = hv->ResetVm(vmid);
  if (result.ok()) {
    // Every slot is FREE now, so nothing is held anywhere: an in-process
    // client that did not drain within the clear's window (a handler stuck
    // longer, or a request the hypervisor's garbage made) must not keep a
    // bit that would let it complete the vCPU's next request, held by
    // another. Found by the lockstep oracle (core/hsm/testing/).
    VmState& vm = **found;
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    auto drop = [&](ClientState& c) {
      // Acq_rel pairs with the release fetch_or() that set a bit and with
      // the serving side's acquire loads of `pending`.
      const uint32_t dropped = c.pending.exchange(0, std::memory_order_acq_rel);
      Count(ctx_->counters.ownership_lost, __builtin_popcount(dropped));
    };
    for (const auto& c : vm.clients) drop(*c);
    if (vm.default_client) drop(*vm.default_client);
    // The hypervisor's reset may have cleared the field (the emulated one
    // zeroes its slots); the VM is paused and every slot FREE. Marking every
    // slot also ends the default client's dropped holds
    // (Completer::EndDefaultHold()).
    if (SharedPage* page = vm.page.load(std::memory_order_acquire)) {
      MarkSlotsTheKernels(*page);
    }
  }
  absl::Status resumed = hv->ResumeVm(vmid);
  return result.ok() ? resumed : result;
}

// ---------------------------------------------------------------------------
// In-process clients without threads

absl::Status Hsm::ServeClient(ClientId id) {
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  if ((*client)->is_default) {
    return absl::InvalidArgumentError(
        "the default client is served by ServeDefaultRequests()");
  }
  return service_->ServeInProcess(**client);
}

// ---------------------------------------------------------------------------
// Posted writes [posted]

absl::Status Hsm::SetPostedRing(uint16_t vmid, PostedRing* ring) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (ring != nullptr &&
      reinterpret_cast<uintptr_t>(ring) % kPageSize != 0) {
    return absl::InvalidArgumentError(
        "the posted ring must be a 4 KiB-aligned page");
  }
  (*vm)->posted.SetRing(ring);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Hsm::AssignPosted(uint16_t vmid,
                                           const PostedArgs& args) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (!(*vm)->posted.has_ring()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u has no posted ring", vmid));
  }
  absl::StatusOr<uint64_t> cookie = (*vm)->posted.Assign(args);
  if (!cookie.ok()) return cookie.status();
  PostedDescriptor d;
  d.type = args.type;
  d.address = args.address;
  d.match_data = args.match_data;
  d.data = args.data;
  d.cookie = *cookie;
  if (absl::Status s = ctx_->hypervisor->AssignPosted(vmid, d); !s.ok()) {
    (*vm)->posted.Deassign(*cookie).IgnoreError();
    return s;
  }
  return cookie;
}

absl::Status Hsm::DeassignPosted(uint16_t vmid, uint64_t cookie) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  // The hypervisor first: once it returns, no new entry names the cookie.
  if (absl::Status s = ctx_->hypervisor->DeassignPosted(vmid, cookie);
      !s.ok()) {
    return s;
  }
  ctx_->completer.DrainPosted(**vm);  // what it posted before goes out
  return (*vm)->posted.Deassign(cookie);
}

absl::Status Hsm::DrainPosted(uint16_t vmid) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  ctx_->completer.DrainPosted(**vm);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// ioeventfd [ioeventfd]

absl::Status Hsm::Ioeventfd(uint16_t vmid, const IoeventfdArgs& args) {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
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

const IoeventfdTable* Hsm::ioeventfds(uint16_t vmid) const {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  return vm.ok() ? &(*vm)->ioeventfds : nullptr;
}

// ---------------------------------------------------------------------------
// Inspection

HsmStats Hsm::stats() const { return ctx_->counters.Snapshot(); }

uint64_t Hsm::syscalls() const {
  uint64_t total = engine_->syscalls();
  ctx_->registry.ForEachClient(
      [&](const ClientState& client) { total += engine_->syscalls(client); });
  return total;
}

absl::StatusOr<uint32_t> Hsm::PendingBitmap(ClientId id) const {
  absl::StatusOr<std::shared_ptr<ClientState>> client =
      ctx_->registry.FindClient(id);
  if (!client.ok()) return client.status();
  return (*client)->pending.load(std::memory_order_acquire);
}

absl::StatusOr<std::string> Hsm::HolderOf(uint16_t vmid, uint32_t vcpu) const {
  absl::StatusOr<std::shared_ptr<VmState>> vm = FindVcpu(vmid, vcpu);
  if (!vm.ok()) return vm.status();
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

absl::StatusOr<std::array<uint64_t, kIoRequestMax>> Hsm::SlotCompletions(
    uint16_t vmid) const {
  absl::StatusOr<std::shared_ptr<VmState>> vm = ctx_->registry.FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::array<uint64_t, kIoRequestMax> counts{};
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] =
        (*vm)->slot_completions[i].value.load(std::memory_order_relaxed);
  }
  return counts;
}

}  // namespace ioreq
