#include "core/hsm/internal/completer.h"

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"

namespace ioreq {
namespace hsm_internal {

void Completer::CompleteSlot(VmState& vm, uint32_t vcpu, uint32_t expected) {
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  IoRequest& req = page->slots[vcpu];
  // Read completion_polling BEFORE COMPLETE is published: from then on the
  // slot is the hypervisor's and may already hold its next request.
  const bool polling = req.completion_polling != 0;
  // smp_store_release(COMPLETE), as a compare-exchange from the state the
  // HSM owns. Pairs with the hypervisor's LoadStateAcquire() in
  // WaitForCompletion() (core/harness/hypervisor.cc): a read's value is
  // visible with COMPLETE.
  if (!CompareExchangeState(req, expected, kStateComplete)) {
    Count(counters_.ownership_lost);
    return;
  }
  Count(counters_.completed);
  vm.slot_completions[vcpu].value.fetch_add(1, std::memory_order_relaxed);
  if (!polling) {
    if (!hypervisor_->NotifyRequestFinish(vm.vmid, vcpu).ok()) {
      Count(counters_.hypercall_errors);
    }
  }
}

absl::Status Completer::CompleteRequest(VmState& vm, ClientState& client,
                                        uint32_t vcpu) {
  if (vcpu >= vm.vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vm.vmid, vm.vcpu_num));
  }
  // clear_bit(). The kernel completes whatever the slot holds; the model
  // completes only a request this client was given, so a stray completion
  // cannot turn a FREE slot COMPLETE or complete a request twice. Acquire
  // pairs with the release fetch_or() that gave the client the bit.
  const uint32_t before =
      client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
  if ((before & Bit(vcpu)) == 0) {
    Count(counters_.spurious_completions);
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u: client \"%s\" holds no request of that vCPU",
        vm.vmid, vcpu, client.name));
  }
  if (client.is_default) EndDefaultHold(vm, vcpu);
  CompleteSlot(vm, vcpu, kStateProcessing);
  return absl::OkStatus();
}

void Completer::EndDefaultHold(VmState& vm, uint32_t vcpu) {
  if (!marks_at_end_of_default_hold_) return;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return;
  // Relaxed: a claim goes on without a mark only if it reads this 1
  // itself, and the device model, which acquires PROCESSING from that
  // claim's release, then reads no older value. A claim that reads the old
  // 0 (it acquired PENDING from a hypervisor that gave the slot back
  // before this store) takes the locked path (direct_claimer.h).
  StoreKernelHandledRelaxed(page->slots[vcpu], 1);
}

void Completer::AnswerUndelivered(VmState& vm, uint32_t vcpu,
                                  uint32_t expected,
                                  const RouteDecision& decision) {
  IoRequest& req = vm.page.load(std::memory_order_acquire)->slots[vcpu];
  switch (decision.route) {
    case Route::kCompleteUnemulated:
      CompleteSlot(vm, vcpu, expected);
      Count(counters_.completed_while_clearing);
      return;
    case Route::kAnswerAllOnes:
      SetRequestValue(req, kAllOnes);
      CompleteSlot(vm, vcpu, expected);
      Count(counters_.rejected_invalid);
      return;
    case Route::kCompletedInPlace:
      CompleteSlot(vm, vcpu, expected);
      Count(counters_.cf8cfc_in_place);
      return;
    case Route::kNoClient:
      // The kernel returns -EINVAL and abandons the rest of the VM's slots;
      // the model leaves this one PENDING and goes on. A claimer that took
      // it gives it back: release pairs with the next scanner's acquire.
      if (expected != kStatePending) StoreStateRelease(req, kStatePending);
      Count(counters_.no_client);
      return;
    case Route::kDeliver:
      return;  // not an undelivered decision
  }
}

void Completer::DrainPosted(VmState& vm) {
  if (!vm.posted.HasEntries()) return;  // the common case, asked inline
  const PostedWrites::Drained d = vm.posted.Drain();
  if (d.signaled) {
    counters_.posted_signaled.fetch_add(d.signaled, std::memory_order_relaxed);
  }
  if (d.unknown) {
    counters_.posted_unknown.fetch_add(d.unknown, std::memory_order_relaxed);
  }
  if (d.corrupt) Count(counters_.posted_corrupt);
}

}  // namespace hsm_internal
}  // namespace ioreq
