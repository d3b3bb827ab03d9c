#include "core/hsm/internal/direct_claimer.h"

#include <cstddef>
#include <cstring>
#include <memory>

#include "absl/container/inlined_vector.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/hsm/cf8cfc.h"
#include "core/hsm/internal/router.h"

namespace ioreq {
namespace hsm_internal {
namespace {

// What a claim copies of its slot: `type` and the request, everything
// routing, CheckRequest() and DecodeAccess() read. Not the line after them,
// with the state word the claim's compare-exchange has just written: a
// wide load of it waits for that store to leave the core (perf: a fifth of
// the claim's samples on the copy of that line).
constexpr size_t kRequestBytes = offsetof(IoRequest, reserved1);
static_assert(kRequestBytes == 128, "type at 0, the request at 64..127");
static_assert(offsetof(IoRequest, reqs) + sizeof(IoRequest{}.reqs) ==
                  kRequestBytes,
              "the request ends where the copy does");

// An access the default client folds (its claim moves the VM's latch).
bool IsConfigPortAccess(const IoRequest& req) {
  return IsConfigAddressAccess(req) || IsConfigDataAccess(req);
}

}  // namespace

template <typename Bell>
void DirectClaimer<Bell>::Upcall(uint16_t vmid, uint32_t vcpu) {
  // The shared pass keeps the VM and the owner alive to the ring without a
  // reference taken on either: DestroyVm() and DestroyClient() pause, which
  // drains the gate, before they let go. The owner is rung after the
  // routing, and never under clients_mu: the woken client often preempts
  // this thread on its CPU (wake-up preemption), and its claim would block
  // at once on a clients_mu this thread still held, for two more context
  // switches and a contended unlock per request (perf, one CPU: 10% of
  // samples in lll_lock_wait and lll_lock_wake).
  {
    PassGate::Shared pass = ctx_.gate.SharedPass();
    if (!ctx_.gate.paused()) {
      VmState* vm = ctx_.registry.VmInPass(vmid);
      if (vm != nullptr) UpcallTo(*vm, vcpu, /*ring_owner=*/true);
      return;
    }
  }
  // Paused: the VM table may be changing (a VM is removed only while
  // paused), so the VM is found in the map; nobody is rung for the request
  // (Resume() rings every client, Resumed()).
  absl::StatusOr<std::shared_ptr<VmState>> found = ctx_.registry.FindVm(vmid);
  if (found.ok()) UpcallTo(**found, vcpu, /*ring_owner=*/false);
}

template <typename Bell>
void DirectClaimer<Bell>::UpcallTo(VmState& vm, uint32_t vcpu,
                                   bool ring_owner) {
  // [posted] No dispatcher here: the upcall drains the posted ring itself.
  ctx_.completer.DrainPosted(vm);
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr || vcpu >= vm.vcpu_num) {
    RingClients(vm);
    return;
  }
  if (!ring_owner) return;
  // An upcall for a posted write leaves its slot as it was: nothing to ring.
  if (LoadStateRelaxed(page->slots[vcpu]) != kStatePending) return;
  // Ring only the owner. Routing changes ring every client, so a request
  // whose owner changed after this look is still rescanned by its new owner.
  IoRequest snapshot = RouteSnapshot(page->slots[vcpu]);
  // In steady state the route memo answers without clients_mu
  // (RouteSnapshotWithoutLock()); a miss, and every look while the index
  // is being checked, routes under it.
  RouteDecision d;
  ClientState* owner = nullptr;
  if (!ctx_.options.check_range_index &&
      RouteSnapshotWithoutLock(vm, snapshot, &d)) {
    owner = OwnerOf(vm, d, nullptr);
  } else {
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    owner = SnapshotOwner(vm, snapshot, nullptr);
  }
  if (owner != nullptr) BellOf<Bell>(*owner).Ring();
}

template <typename Bell>
void DirectClaimer<Bell>::Dispatch() {
  PassGate::Exclusive pass = ctx_.gate.ExclusivePass();
  if (ctx_.gate.paused()) return;
  Count(ctx_.counters.dispatch_passes);
  std::vector<Bell*> wakes;
  for (const std::shared_ptr<VmState>& vm : ctx_.registry.Vms()) {
    ClaimForEveryClient(*vm, wakes);
  }
  Bell::RingMany(wakes.data(), wakes.size());
}

template <typename Bell>
void DirectClaimer<Bell>::RouteVmNow(VmState& vm) {
  {
    PassGate::Exclusive pass = ctx_.gate.ExclusivePass();
    if (ctx_.gate.paused()) return;
    std::vector<Bell*> wakes;
    ClaimForEveryClient(vm, wakes);
    Bell::RingMany(wakes.data(), wakes.size());
  }
  RingClients(vm);  // and every client looks again, on its own thread
}

template <typename Bell>
void DirectClaimer<Bell>::ClaimForEveryClient(VmState& vm,
                                              std::vector<Bell*>& wakes) {
  std::vector<std::shared_ptr<ClientState>> claimers;
  {
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    claimers = vm.clients;
    if (vm.default_client) claimers.push_back(vm.default_client);
  }
  // No client can go while the gate is held (DestroyClient() pauses). A
  // client that was given work here, not on its own thread, is rung.
  for (const auto& claimer : claimers) {
    if (ClaimVm(vm, *claimer, wakes, Claimant::kOtherThread,
                Pass::kExclusive) > 0) {
      wakes.push_back(&BellOf<Bell>(*claimer));
    }
  }
}

template <typename Bell>
void DirectClaimer<Bell>::Resumed() {
  if (!ctx_.options.run_threads) {  // no client thread would look: claim now
    Dispatch();
    return;
  }
  for (const std::shared_ptr<VmState>& vm : ctx_.registry.Vms()) {
    RingClients(*vm);
  }
}

template <typename Bell>
int DirectClaimer<Bell>::Take(ClientState& client) {
  std::vector<Bell*> wakes;
  int claimed = 0;
  {
    PassGate::Shared scan = ctx_.gate.SharedPass();
    if (!ctx_.gate.paused()) {
      claimed = ClaimVm(*client.vm, client, wakes, Claimant::kServingThread,
                        Pass::kShared);
    }
  }
  Bell::RingMany(wakes.data(), wakes.size());
  return claimed;
}

template <typename Bell>
bool DirectClaimer<Bell>::WaitForWork(ClientState& client) {
  // Rung by RingClients() or Upcall() after a PENDING store; [rescan]
  // after rescan_interval without a ring: a lost upcall would otherwise
  // strand the requests this client claims.
  return BellOf<Bell>(client).WaitFor(ctx_.options.rescan_interval);
}

template <typename Bell>
void DirectClaimer<Bell>::RingClients(VmState& vm) {
  // Under the lock: a client cannot be freed while its bell is rung.
  std::lock_guard<std::mutex> lock(vm.clients_mu);
  RingClientsLocked(vm);
}

template <typename Bell>
void DirectClaimer<Bell>::RingClientsLocked(VmState& vm) {
  absl::InlinedVector<Bell*, 8> bells;
  for (const auto& c : vm.clients) bells.push_back(&BellOf<Bell>(*c));
  if (vm.default_client) bells.push_back(&BellOf<Bell>(*vm.default_client));
  Bell::RingMany(bells.data(), bells.size());
}

template <typename Bell>
ClientState* DirectClaimer<Bell>::SnapshotOwner(VmState& vm,
                                                IoRequest& snapshot,
                                                ClientState* claimer) {
  // A snapshot is routed without folding (no latch): it is not ours yet.
  return OwnerOf(vm,
                 RouteRequest(vm, snapshot, /*latch=*/nullptr,
                              ctx_.options.check_range_index),
                 claimer);
}

template <typename Bell>
ClientState* DirectClaimer<Bell>::OwnerOf(VmState& vm, const RouteDecision& d,
                                          ClientState* claimer) {
  switch (d.route) {
    case Route::kDeliver:
      return d.client;
    case Route::kNoClient:
      return nullptr;
    default: {
      // Clearing and invalid requests are answered by the default client,
      // or, without one, by whichever client claims them first. Acquire
      // pairs with the release stores in Registry::Attach() and
      // DetachLocked() (read here with or without clients_mu).
      ClientState* fallback =
          vm.default_client_in_pass.load(std::memory_order_acquire);
      return fallback != nullptr ? fallback : claimer;
    }
  }
}

template <typename Bell>
int DirectClaimer<Bell>::ClaimVm(VmState& vm, ClientState& claimer,
                                 std::vector<Bell*>& wakes, Claimant who,
                                 Pass pass) {
  // [posted] Every claim scan (a client's rescan among them) drains too, so
  // a lost upcall strands no posted write.
  ctx_.completer.DrainPosted(vm);
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return 0;
  int claimed = 0;
  for (uint32_t i = 0; i < vm.vcpu_num; ++i) {
    // Pairs with the hypervisor's StoreStateRelease(PENDING).
    if (LoadStateAcquire(page->slots[i]) != kStatePending) continue;
    // Other clients scan this slot too, and it may be completed and reused
    // while we look: route on a relaxed snapshot, claim with a
    // compare-exchange, and only then trust the fields.
    IoRequest snapshot = RouteSnapshot(page->slots[i]);
    const ClaimOutcome outcome =
        ClaimSlot(vm, claimer, i, snapshot, wakes, who, pass);
    if (outcome != ClaimOutcome::kNotMine && outcome != ClaimOutcome::kLost &&
        outcome != ClaimOutcome::kLeftToDefault) {
      ++claimed;
    }
  }
  return claimed;
}

template <typename Bell>
ClaimOutcome DirectClaimer<Bell>::ClaimSlot(VmState& vm, ClientState& claimer,
                                            uint32_t vcpu, IoRequest& snapshot,
                                            std::vector<Bell*>& wakes,
                                            Claimant who, Pass pass) {
  ClaimOutcome outcome;
  if (ClaimWithoutLock(vm, claimer, vcpu, snapshot, wakes, who, &outcome)) {
    return outcome;
  }
  IoRequest& req = vm.page.load(std::memory_order_acquire)->slots[vcpu];
  RouteDecision d;
  {
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    ClientState* owner = SnapshotOwner(vm, snapshot, &claimer);
    if (owner != &claimer) {
      if (claimer.is_default) MarkForItsOwner(req, owner, wakes);
      return ClaimOutcome::kNotMine;
    }
    // [kernel-handled] Before PROCESSING is published the slot must be
    // marked as the kernel's (1): a device model that follows ACRN's
    // contract scans for PROCESSING && !kernel_handled, and must never see
    // a request an in-process client is taking, nor one given back PENDING
    // below, with a stale 0. A PENDING slot reads 1 (the page was marked
    // when the HSM got it); one that does not is marked only where no other
    // claim can unmark it between this look and the mark (direct_claimer.h):
    // the default client's claim (the only one that unmarks without
    // clients_mu), an exclusive pass, or a VM without a default client (the
    // lock held keeps one from attaching). Otherwise it is left to the
    // default client, which marks it and rings its owner: this claimer's
    // mark could land after the default client had claimed and unmarked
    // the slot since this look, and hide its request from the device model.
    // Acquire pairs with the hypervisor's release of PENDING.
    if (LoadStateAcquire(req) != kStatePending) return ClaimOutcome::kLost;
    if (LoadKernelHandledAcquire(req) != 1) {
      if (!claimer.is_default && pass == Pass::kShared && vm.default_client) {
        Count(ctx_.counters.left_to_default);
        wakes.push_back(&BellOf<Bell>(*vm.default_client));
        return ClaimOutcome::kLeftToDefault;
      }
      StoreKernelHandledRelaxed(req, 1);
    }
    // Acquire pairs with the hypervisor's release of PENDING; release pairs
    // with the serving side's acquire of PROCESSING, and publishes the mark
    // (LoadKernelHandledAcquire() after the device model's acquire of
    // PROCESSING).
    if (!CompareExchangeState(req, kStatePending, kStateProcessing)) {
      return ClaimOutcome::kLost;
    }
    // The slot is ours: route its real fields. Only the default client
    // folds, so only it passes the latch.
    d = RouteRequest(vm, req,
                     claimer.is_default ? &vm.pci_config_address : nullptr,
                     ctx_.options.check_range_index);
    if (d.folded) Count(ctx_.counters.cf8cfc_converted);
    if (d.route == Route::kDeliver) {
      return Deliver(vm, claimer, vcpu, req, d, wakes, who, /*kept=*/false);
    }
  }
  return Answer(vm, vcpu, d);
}

template <typename Bell>
bool DirectClaimer<Bell>::ClaimWithoutLock(VmState& vm, ClientState& claimer,
                                           uint32_t vcpu, IoRequest& snapshot,
                                           std::vector<Bell*>& wakes,
                                           Claimant who,
                                           ClaimOutcome* outcome) {
  // A check of the index looks up, under clients_mu. The default client
  // folds 0xCF8/0xCFC, which moves the VM's latch: under it too.
  if (ctx_.options.check_range_index) return false;
  if (claimer.is_default && IsConfigPortAccess(snapshot)) return false;
  RouteDecision d;
  if (!RouteSnapshotWithoutLock(vm, snapshot, &d)) return false;
  IoRequest& req = vm.page.load(std::memory_order_acquire)->slots[vcpu];
  ClientState* owner = OwnerOf(vm, d, &claimer);
  if (owner != &claimer) {
    if (claimer.is_default) MarkForItsOwner(req, owner, wakes);
    *outcome = ClaimOutcome::kNotMine;
    return true;
  }
  // [kernel-handled] No mark: kernel_handled is already 1 everywhere but in
  // a slot the default client holds, whose hold ends with it back at 1
  // (Completer::EndDefaultHold()) before the slot can be PENDING again. A
  // slot that reads otherwise (a hypervisor wrote the field, or gave back
  // a slot the default client held) takes the locked path. Read-read
  // coherence then keeps the device model, which acquires PROCESSING from
  // the compare-exchange below, from seeing an older value than this 1.
  // The default client, which unmarks its request after the claim
  // (Deliver()), needs that 1 too: the device model must not take the
  // request before its pending bit is set.
  if (LoadKernelHandledAcquire(req) != 1) return false;
  // Acquire pairs with the hypervisor's release of PENDING; release pairs
  // with the serving side's acquire of PROCESSING.
  if (!CompareExchangeState(req, kStatePending, kStateProcessing)) {
    *outcome = ClaimOutcome::kLost;
    return true;
  }
  // The slot is ours: route its real fields, the same way (an in-process
  // client does not fold), from a private copy, so that what this route
  // checks is what a claim on the serving thread keeps for the handler
  // (ClientState::own_claims): a hypervisor that rewrites the slot from
  // here on reaches neither. That claim copies into the client's own slot
  // copy, which no longer stands for an earlier hold of this vCPU's. A
  // miss is looked up under the lock.
  IoRequest local;
  IoRequest* copy = &local;
  if (who == Claimant::kServingThread) {
    claimer.own_claims &= ~Bit(vcpu);
    copy = &claimer.claimed_copy[vcpu];
  }
  std::memcpy(static_cast<void*>(copy), &req, kRequestBytes);
  bool kept = copy != &local;
  if (claimer.is_default && IsConfigPortAccess(*copy)) {
    // Reused under the snapshot for a 0xCF8/0xCFC access: the default
    // client folds it in the slot itself (the device model reads the
    // PCICFG request there), moving the latch, under clients_mu.
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    d = RouteRequest(vm, req, &vm.pci_config_address, /*check_index=*/false);
    if (d.folded) Count(ctx_.counters.cf8cfc_converted);
    kept = false;
  } else if (!RouteSnapshotWithoutLock(vm, *copy, &d)) {
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    d = RouteRequest(vm, *copy, /*latch=*/nullptr, /*check_index=*/false);
  }
  *outcome = d.route == Route::kDeliver
                 ? Deliver(vm, claimer, vcpu, req, d, wakes, who, kept)
                 : Answer(vm, vcpu, d);
  return true;
}

template <typename Bell>
void DirectClaimer<Bell>::MarkForItsOwner(IoRequest& req, ClientState* owner,
                                          std::vector<Bell*>& wakes) {
  // Only a PENDING slot (acquire pairs with the hypervisor's release of
  // PENDING): a PROCESSING one is held, and its mark names its holder. No
  // claim but this thread's can take the slot while it reads other than 1
  // (direct_claimer.h), so the look and the mark need no lock. Relaxed: a
  // claim that reads this 1 publishes it with its release of PROCESSING.
  if (LoadKernelHandledAcquire(req) == 1) return;
  if (LoadStateAcquire(req) != kStatePending) return;
  StoreKernelHandledRelaxed(req, 1);
  if (owner != nullptr) wakes.push_back(&BellOf<Bell>(*owner));
}

template <typename Bell>
ClaimOutcome DirectClaimer<Bell>::Deliver(VmState& vm, ClientState& claimer,
                                          uint32_t vcpu, IoRequest& req,
                                          const RouteDecision& d,
                                          std::vector<Bell*>& wakes,
                                          Claimant who, bool kept) {
  if (d.client != &claimer) {
    // The slot was completed and reused between the snapshot and the
    // compare-exchange: it holds another request than the one routed, and
    // it is not ours. Give it back PENDING and ring its owner, which claims
    // it the normal way; handing it over directly would skip what only the
    // owner's claim does (the default client folds 0xCF8/0xCFC: a raw 0xCF8
    // write handed to it completed without moving the latch, found by a
    // 10-minute soak). Release pairs with the owner's compare-exchange.
    StoreStateRelease(req, kStatePending);
    Count(ctx_.counters.rerouted);
    wakes.push_back(&BellOf<Bell>(*d.client));
    return ClaimOutcome::kGivenBack;
  }
  if (who == Claimant::kServingThread) {
    // The copy this route checked is kept for this thread's serving, or
    // any older one for the vCPU is dropped (a claim that routed the live
    // slot). Only the serving thread touches these.
    if (kept) {
      // Relaxed: this thread reads it back after its own acquire of
      // `pending`, against the value another thread's delivery bumps.
      claimer.claimed_at[vcpu] =
          claimer.foreign_deliveries.load(std::memory_order_relaxed);
      claimer.own_claims |= Bit(vcpu);
    } else {
      claimer.own_claims &= ~Bit(vcpu);
    }
  } else {
    // Counted before the bit is set: the release fetch_or() below carries
    // it to the serving thread's acquire of `pending`, which then finds
    // its kept copy stale and checks the slot again.
    claimer.foreign_deliveries.fetch_add(1, std::memory_order_relaxed);
  }
  // set_bit(). Release pairs with the acquire loads of `pending` in
  // ClientService.
  claimer.pending.fetch_or(Bit(vcpu), std::memory_order_release);
  // The device model's request only now, after its pending bit, so its
  // finish ioctl finds the request held. Release pairs with the device
  // model's LoadKernelHandledAcquire(). Without clients_mu in steady
  // state: no other claim marks a slot this claim could hold
  // (direct_claimer.h).
  if (claimer.is_default) StoreKernelHandledRelease(req, 0);
  Count(ctx_.counters.dispatched);
  return ClaimOutcome::kTaken;
}

template <typename Bell>
ClaimOutcome DirectClaimer<Bell>::Answer(VmState& vm, uint32_t vcpu,
                                         const RouteDecision& d) {
  ctx_.completer.AnswerUndelivered(vm, vcpu, kStateProcessing, d);
  return d.route == Route::kNoClient ? ClaimOutcome::kGivenBack
                                     : ClaimOutcome::kAnswered;
}

IOREQ_INSTANTIATE_FOR_EACH_DOORBELL(DirectClaimer)

}  // namespace hsm_internal
}  // namespace ioreq
