#include "core/hsm/internal/kernel_dispatcher.h"

#include <pthread.h>

#include <algorithm>

#include "core/abi/slot_state.h"
#include "core/hsm/internal/router.h"
#include "core/notify/poll_for_ring.h"
#include "core/notify/wake_batch.h"
#include "core/placement/placement.h"

namespace ioreq {
namespace hsm_internal {

template <typename Bell>
KernelDispatcher<Bell>::KernelDispatcher(HsmContext& context)
    : ctx_(context) {
  if (ctx_.options.run_threads) {
    thread_ = std::thread([this] { Loop(); });
    // Named, as a kernel's worker is, for top, perf and the tests; by its
    // creator, so that the name is there when the constructor returns.
    pthread_setname_np(thread_.native_handle(), "hsm-dispatcher");
  }
}

template <typename Bell>
void KernelDispatcher<Bell>::Stop() {
  // Pairs with the acquire load in Loop() after its wake.
  stopping_.store(true, std::memory_order_release);
  upcall_.Ring();
  if (thread_.joinable()) thread_.join();
}

template <typename Bell>
void KernelDispatcher<Bell>::Upcall(uint16_t, uint32_t) {
  // ioreq_intr_handler(): queue_work(). The kernel's upcall names no VM.
  if (ctx_.options.run_threads) upcall_.Ring();
}

template <typename Bell>
void KernelDispatcher<Bell>::Loop() {
  if (!ctx_.options.thread_cpus.empty()) {
    PinCurrentThread(ctx_.options.thread_cpus).IgnoreError();  // best effort
  }
  // HsmOptions::service_poll: armed by a pass that handed a request over,
  // disarmed by a poll window that passed without an upcall.
  bool poll = false;
  // HsmOptions::carry_wakes: a pass's wakes of its clients are held and go
  // out with the sleep that follows the pass, in one system call where the
  // strategy can (uring), or when the next pass starts.
  WakeBatch pass_wakes(ctx_.options.carry_wakes ? WakeBatch::kAll
                                                : WakeBatch::kNone);
  for (;;) {
    if (poll) poll = PollForRing(upcall_, ctx_.options.service_poll);
    // [rescan]: without a ring for rescan_interval, a pass runs anyway.
    const bool rung = upcall_.WaitFor(ctx_.options.rescan_interval);
    pass_wakes.Flush();  // not sent by the wait (it did not sleep)
    if (stopping_.load(std::memory_order_acquire)) return;
    if (rung) {
      if (Pass() > 0) poll = true;
      continue;
    }
    Count(ctx_.counters.rescans);
    // Passes are exclusive, but ClearRequests() may route between the two
    // loads: the difference is an estimate, for statistics.
    const uint64_t before =
        ctx_.counters.dispatched.load(std::memory_order_relaxed);
    if (Pass() > 0) poll = true;
    Count(ctx_.counters.rescued_by_rescan,
          ctx_.counters.dispatched.load(std::memory_order_relaxed) - before);
  }
}

template <typename Bell>
void KernelDispatcher<Bell>::Resumed() {
  if (ctx_.options.run_threads) {
    upcall_.Ring();
  } else {
    Dispatch();
  }
}

template <typename Bell>
bool KernelDispatcher<Bell>::WaitForWork(ClientState& client) {
  BellOf<Bell>(client).Wait();  // rung by the dispatcher, in process
  return true;
}

template <typename Bell>
void KernelDispatcher<Bell>::Dispatch() {
  Pass();
}

template <typename Bell>
int KernelDispatcher<Bell>::Pass() {
  PassGate::Exclusive pass = ctx_.gate.ExclusivePass();
  if (ctx_.gate.paused()) return 0;
  Count(ctx_.counters.dispatch_passes);
  int handed = 0;
  wakes_.clear();  // the gate, held exclusively, guards wakes_
  ctx_.registry.ForEachVm([&](VmState& vm) {
    // The kernel stops at the first VM without a buffer, starving every VM
    // after it; the model skips that VM and goes on.
    if (vm.page.load(std::memory_order_acquire) == nullptr) return;
    handed += DispatchVm(vm);
  });
  // One call for every wake of the pass (one io_uring_enter with the uring
  // strategy). Safe after the locks: no client can be destroyed while the
  // pass holds the gate (DestroyClient() pauses first).
  Bell::RingMany(wakes_.data(), wakes_.size());
  return handed;
}

template <typename Bell>
void KernelDispatcher<Bell>::RouteVmNow(VmState& vm) {
  PassGate::Exclusive pass = ctx_.gate.ExclusivePass();
  if (ctx_.gate.paused()) return;
  wakes_.clear();
  DispatchVm(vm);
  Bell::RingMany(wakes_.data(), wakes_.size());
}

template <typename Bell>
int KernelDispatcher<Bell>::DispatchVm(VmState& vm) {
  int handed = 0;
  // [posted] ACRN's dispatcher drains the posted ring before the slots.
  ctx_.completer.DrainPosted(vm);
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return 0;
  // ioreq_clients_lock, taken at the first PENDING slot and held to the end
  // of the VM's scan: one lock for every request of the pass (the kernel
  // takes it per request), none for a VM with nothing pending.
  std::unique_lock<std::mutex> lock(vm.clients_mu, std::defer_lock);
  for (uint32_t i = 0; i < vm.vcpu_num; ++i) {
    IoRequest& req = page->slots[i];
    // Pairs with the hypervisor's StoreStateRelease(PENDING) in
    // InsertRequest() (core/harness/hypervisor.cc): the fields of a PENDING
    // slot are visible.
    if (LoadStateAcquire(req) != kStatePending) continue;
    if (!lock.owns_lock()) lock.lock();
    // The dispatcher is the only folder: it owns the latch.
    const RouteDecision d = RouteRequest(vm, req, &vm.pci_config_address,
                                         ctx_.options.check_range_index);
    if (d.folded) Count(ctx_.counters.cf8cfc_converted);
    if (d.route != Route::kDeliver) {
      // Completes, or leaves PENDING; under clients_mu, which allows calling
      // the hypervisor (vm_state.h's lock order).
      ctx_.completer.AnswerUndelivered(vm, i, kStatePending, d);
      continue;
    }
    // [kernel-handled] Written before PROCESSING, whose release below
    // publishes it to a device model that scans for PROCESSING &&
    // !kernel_handled (its finish ioctl waits on clients_mu, held here until
    // the pending bit is set). A release store too: a scan can read
    // PROCESSING of this slot's previous request (an in-process client's,
    // kernel_handled 1), stall while it completes and this one is filled,
    // then read this 0; release pairs with that scan's
    // LoadKernelHandledAcquire() in AcrnDeviceModelThread, so what it then
    // emulates is this request as the hypervisor wrote it (acquired above).
    // On x86 every store is a release, as the kernel's plain store is there.
    StoreKernelHandledRelease(req, d.client->is_default ? 0 : 1);
    if (ctx_.before_hand_over) ctx_.before_hand_over(vm, i);
    // The kernel's smp_store_release(PROCESSING), as a compare-exchange so
    // that a hypervisor that rewrote the state meanwhile is noticed. Pairs
    // with the serving side's LoadStateAcquire() in ClientService:
    // kernel_handled and any 0xCFC rewrite are visible once PROCESSING is.
    if (!CompareExchangeState(req, kStatePending, kStateProcessing)) {
      Count(ctx_.counters.ownership_lost);
      continue;
    }
    // set_bit(). Release pairs with the acquire loads of `pending` in
    // ClientService.
    d.client->pending.fetch_or(Bit(i), std::memory_order_release);
    Count(ctx_.counters.dispatched);
    ++handed;
    if (ctx_.options.on_dispatched) ctx_.options.on_dispatched(vm.vmid, i);
    // wake_up_interruptible(): deferred to the end of the pass, once per
    // client.
    Bell* bell = &BellOf<Bell>(*d.client);
    if (std::find(wakes_.begin(), wakes_.end(), bell) == wakes_.end()) {
      wakes_.push_back(bell);
    }
  }
  return handed;
}

IOREQ_INSTANTIATE_FOR_EACH_DOORBELL(KernelDispatcher)

}  // namespace hsm_internal
}  // namespace ioreq
