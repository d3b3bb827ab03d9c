#include "core/hsm/internal/client_service.h"

#include <cstring>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/notify/wake_batch.h"
#include "core/placement/placement.h"

namespace ioreq {
namespace hsm_internal {
namespace {

constexpr absl::Duration kHandlerRetryBackoff = absl::Milliseconds(1);

}  // namespace

void ClientService::CountRescan(int claimed) {
  Count(ctx_.counters.rescans);
  Count(ctx_.counters.rescued_by_rescan, static_cast<uint64_t>(claimed));
}

void ClientService::ClientLoop(ClientState& client) {
  if (!ctx_.options.thread_cpus.empty()) {
    PinCurrentThread(ctx_.options.thread_cpus).IgnoreError();  // best effort
  }
  bool rescan = false;  // woken by rescan_interval, not by a ring
  // HsmOptions::service_poll: armed by work served, disarmed by a poll
  // window that passed without a ring (a ring caught keeps it armed: the
  // pass that rang may have been served already).
  bool poll = false;
  // HsmOptions::carry_wakes: the wakes of one pass (the completions' and a
  // hand-over's) are held and go out together: with the sleep that ends the
  // pass, in one system call where the strategy can (uring), or when the
  // next pass starts serving.
  WakeBatch pass_wakes(ctx_.options.carry_wakes ? WakeBatch::kAll
                                                : WakeBatch::kNone);
  for (;;) {
    // Pairs with the release store in DestroyClient().
    const bool stop = client.destroying.load(std::memory_order_acquire);
    if (!stop) {
      const int claimed = engine_.Take(client);
      if (rescan) CountRescan(claimed);
    }
    // [client-wait]. Acquire pairs with the release fetch_or() of a
    // dispatch, a claim or a hand-over.
    if (client.pending.load(std::memory_order_acquire) != 0) {
      pass_wakes.Flush();  // the previous pass's, before serving this one
      const absl::Status status = ServeHeld(client);
      // Like kthread_should_stop() in the kernel's loop: checked only after
      // the pending requests were served.
      if (stop) return;
      if (!status.ok()) {
        pass_wakes.Flush();
        absl::SleepFor(kHandlerRetryBackoff);
      }
      poll = status.ok();
      continue;
    }
    if (stop) return;
    if (poll) poll = engine_.PollForWork(client, ctx_.options.service_poll);
    rescan = !engine_.WaitForWork(client);
  }
}

absl::Status ClientService::ServeInProcess(ClientState& client) {
  engine_.Take(client);
  return ServeHeld(client);
}

absl::Status ClientService::ServeHeld(ClientState& client) {
  VmState& vm = *client.vm;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  for (;;) {
    // Pairs with the release fetch_or() that gave the client the bit.
    const uint32_t bits = client.pending.load(std::memory_order_acquire);
    if (bits == 0 || page == nullptr) return absl::OkStatus();
    const uint32_t vcpu = LowestBit(bits);  // find_first_bit()
    IoRequest& req = page->slots[vcpu];
    // Pairs with the engine's release of PROCESSING.
    if (LoadStateAcquire(req) != kStateProcessing) {
      // Drop the bit: pairs with the acquire loads of `pending` elsewhere.
      client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
      client.own_claims &= ~Bit(vcpu);
      Count(ctx_.counters.ownership_lost);
      continue;
    }
    // The kernel hands its handler the shared slot itself, which the
    // hypervisor may rewrite under it. The model hands the handler an
    // access decoded from a checked copy (a handler only ever sees a
    // request that passed CheckRequest()), and writes back only the value.
    // The client's own claim already made that copy and checked it
    // (OwnClaim()); a request another thread handed over was checked on
    // contents the hypervisor may since have rewritten, so it is copied
    // and checked here.
    const IoRequest* checked = OwnClaim(client, vcpu);
    IoRequest copy;
    if (checked == nullptr) {
      std::memcpy(static_cast<void*>(&copy), &req, sizeof(copy));
      if (CheckRequest(copy) != SlotCheck::kValid) {
        Count(ctx_.counters.rejected_invalid);
        SetRequestValue(req, kAllOnes);
        Finish(vm, client, vcpu);
        continue;
      }
      checked = &copy;
    }
    IoAccess access = DecodeAccess(*checked);
    absl::Status handled = client.handler(access);
    if (!handled.ok()) {
      Count(ctx_.counters.handler_errors);
      // The kernel leaves the bit set and retries for ever; the model
      // retries, then answers all-ones so the vCPU is not blocked for ever.
      if (++client.failed_attempts[vcpu] < ctx_.options.handler_max_attempts) {
        return handled;
      }
      Count(ctx_.counters.handler_gave_up);
      access.value = kAllOnes;
    }
    SetRequestValue(req, access.value);
    Finish(vm, client, vcpu);
  }
}

const IoRequest* ClientService::OwnClaim(const ClientState& client,
                                         uint32_t vcpu) {
  if ((client.own_claims & Bit(vcpu)) == 0) return nullptr;
  // Relaxed: read after the acquire load of `pending` that found the bit.
  // Another thread that delivered to this client since the claim counted
  // before its release of a bit, so the count has moved and the copy is
  // not used (for any vCPU: such deliveries are rare).
  if (client.claimed_at[vcpu] !=
      client.foreign_deliveries.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  return &client.claimed_copy[vcpu];
}

void ClientService::Finish(VmState& vm, ClientState& client, uint32_t vcpu) {
  client.failed_attempts[vcpu] = 0;
  client.own_claims &= ~Bit(vcpu);
  ctx_.completer.CompleteRequest(vm, client, vcpu).IgnoreError();
}

absl::StatusOr<uint32_t> ClientService::WaitForRequests(ClientState& client) {
  bool rescan = false;  // woken by rescan_interval, not by a ring
  for (;;) {
    // Pairs with the release stores in InterruptWait() and DestroyClient().
    if (client.destroying.load(std::memory_order_acquire)) {
      return absl::CancelledError("the client is being destroyed");
    }
    const int claimed = engine_.Take(client);
    if (rescan) CountRescan(claimed);
    // Pairs with the release fetch_or() of a dispatch, a claim or a
    // hand-over.
    const uint32_t bits = client.pending.load(std::memory_order_acquire);
    if (bits != 0) return bits;
    rescan = !engine_.WaitForWork(client);
  }
}

absl::Status ClientService::ServeDefault(ClientState& client,
                                         const IoHandler& handler) {
  engine_.Take(client);
  VmState& vm = *client.vm;
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  if (page == nullptr) return absl::OkStatus();
  uint32_t bits = client.pending.load(std::memory_order_acquire);
  while (bits != 0) {
    const uint32_t vcpu = LowestBit(bits);
    bits &= bits - 1;
    IoRequest& slot = page->slots[vcpu];
    // The default client's own claim (on this thread, in Take()) copied the
    // slot and checked it, as an in-process client's does (ServeHeld()):
    // served from that copy, with no lock before the finish. Acquire pairs
    // with the release fetch_and() of a clear and with the claim's release
    // of PROCESSING; a request answered meanwhile, or a slot no longer
    // PROCESSING, goes to the locked look below.
    const IoRequest* checked = OwnClaim(client, vcpu);
    if (checked != nullptr &&
        ((client.pending.load(std::memory_order_acquire) & Bit(vcpu)) == 0 ||
         LoadStateAcquire(slot) != kStateProcessing)) {
      checked = nullptr;
    }
    IoRequest copy;
    if (checked == nullptr) {
      std::lock_guard<std::mutex> lock(vm.clients_mu);
      if ((client.pending.load(std::memory_order_acquire) & Bit(vcpu)) == 0) {
        continue;  // completed by ClearRequests() meanwhile
      }
      // Pairs with the engine's release of PROCESSING.
      if (LoadStateAcquire(slot) != kStateProcessing) {
        // Drop the bit: pairs with the acquire loads of `pending` elsewhere.
        client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);
        client.own_claims &= ~Bit(vcpu);
        ctx_.completer.EndDefaultHold(vm, vcpu);
        Count(ctx_.counters.ownership_lost);
        continue;
      }
      std::memcpy(static_cast<void*>(&copy), &slot, sizeof(copy));
      // Checked again on the copy: the hypervisor may have rewritten the
      // slot since the router checked it, and the handler sees only the
      // access decoded from the copy.
      if (CheckRequest(copy) != SlotCheck::kValid) {
        Count(ctx_.counters.rejected_invalid);
      } else {
        checked = &copy;
      }
    }
    client.own_claims &= ~Bit(vcpu);  // used: a later bit is a later claim
    uint64_t value = kAllOnes;
    if (checked != nullptr) {
      IoAccess access = DecodeAccess(*checked);
      if (handler(access).ok()) {
        value = access.value;
      } else {
        Count(ctx_.counters.handler_errors);
      }
    }
    std::lock_guard<std::mutex> lock(vm.clients_mu);
    if ((client.pending.load(std::memory_order_acquire) & Bit(vcpu)) == 0) {
      continue;  // ClearRequests() or DestroyClient() answered it meanwhile
    }
    SetRequestValue(slot, value);
    ctx_.completer.CompleteRequest(vm, client, vcpu).IgnoreError();
  }
  return absl::OkStatus();
}

void ClientService::HandOverLocked(VmState& vm, ClientState& client) {
  SharedPage* page = vm.page.load(std::memory_order_acquire);
  // Acquire pairs with the release fetch_or() that set each bit; release
  // pairs with the serving side's acquire load of `pending`.
  uint32_t left = client.pending.exchange(0, std::memory_order_acq_rel);
  while (left != 0) {
    const uint32_t vcpu = LowestBit(left);
    left &= left - 1;
    if (page == nullptr) continue;
    IoRequest& slot = page->slots[vcpu];
    if (!client.is_default && vm.default_client) {
      // Counted before the bit, so that what the default client's own
      // claim kept for this vCPU is not served for this request
      // (ClientState::own_claims).
      vm.default_client->foreign_deliveries.fetch_add(
          1, std::memory_order_relaxed);
      // Pairs with the acquire load of `pending` by the default client's
      // waiter; the slot stays PROCESSING, already released by the engine.
      vm.default_client->pending.fetch_or(Bit(vcpu),
                                          std::memory_order_release);
      // [kernel-handled] The device model's now, after its pending bit.
      // Release pairs with the device model's LoadKernelHandledAcquire().
      StoreKernelHandledRelease(slot, 0);
      engine_.Ring(*vm.default_client);
      Count(ctx_.counters.handed_over_on_destroy);
    } else {
      if (client.is_default) ctx_.completer.EndDefaultHold(vm, vcpu);
      SetRequestValue(slot, kAllOnes);
      ctx_.completer.CompleteSlot(vm, vcpu, kStateProcessing);
      Count(ctx_.counters.completed_on_destroy);
    }
  }
}

}  // namespace hsm_internal
}  // namespace ioreq
