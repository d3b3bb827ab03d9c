#include "core/harness/emulated_hypervisor.h"

#include <sched.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "core/abi/slot_state.h"
#include "core/notify/wake_batch.h"

namespace ioreq {
namespace {

// The pause instruction of a polling loop.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A polling vCPU spins this many times, then yields its core between polls:
// the hypervisor's vCPU owns a physical core, a model thread shares one.
constexpr int kPollSpinsBeforeYield = 256;

// Counts one more on a counter only the calling thread writes (a vCPU's
// own, on the vCPU's thread) and any thread may read: a relaxed load and
// store, no locked instruction. A fetch_add() here was a third of the
// insert's samples on the one-thread path
// (//core/harness:request_path_benchmark).
void CountOwn(std::atomic<uint64_t>& count) {
  count.store(count.load(std::memory_order_relaxed) + 1,
              std::memory_order_relaxed);
}

}  // namespace

EmulatedHypervisor::EmulatedHypervisor(Strategy strategy,
                                       absl::Duration completion_rescan,
                                       Profile profile)
    : strategy_(strategy),
      completion_rescan_(completion_rescan),
      profile_(profile) {}

EmulatedHypervisor::~EmulatedHypervisor() = default;

void EmulatedHypervisor::SetUpcallHandler(
    std::function<void(uint16_t, uint32_t)> handler) {
  std::lock_guard<std::mutex> lock(upcall_mu_);
  upcall_ = std::move(handler);
  // Pairs with the acquire load in FireUpcall(): a vCPU that sees the flag
  // sees the handler.
  has_upcall_.store(static_cast<bool>(upcall_), std::memory_order_release);
}

void EmulatedHypervisor::FireUpcall(uint16_t vmid, uint32_t vcpu) {
  if (has_upcall_.load(std::memory_order_acquire)) upcall_(vmid, vcpu);
}

absl::StatusOr<uint16_t> EmulatedHypervisor::CreateVm(uint32_t vcpu_num) {
  return CreateVm(vcpu_num, /*polling_vm=*/false);
}

absl::StatusOr<uint16_t> EmulatedHypervisor::CreateVm(uint32_t vcpu_num,
                                                      bool polling_vm) {
  if (vcpu_num < 1 || vcpu_num > static_cast<uint32_t>(kIoRequestMax)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vcpu_num %u: a VM has 1 to %d vCPUs", vcpu_num, kIoRequestMax));
  }
  auto vm = std::make_unique<Vm>();
  vm->vcpu_num = vcpu_num;
  vm->polling_vm = polling_vm;
  if (profile_ == Profile::kAcrn) vm->vpci = std::make_unique<AcrnVpci>();
  vm->posted_ring = std::make_unique<PostedRing>();
  InitPostedRing(*vm->posted_ring);
  vm->page = std::make_unique<PageFrame>();
  std::memset(static_cast<void*>(vm->page.get()), 0, sizeof(PageFrame));
  for (IoRequest& slot : vm->page->buffer.slots) {
    StoreStateRelease(slot, kStateFree);
  }
  vm->vcpus = std::make_unique<Vcpu[]>(vcpu_num);
  for (uint32_t i = 0; i < vcpu_num; ++i) {
    vm->vcpus[i].completion = MakeDoorbell(strategy_);
  }
  std::lock_guard<std::mutex> lock(create_mu_);
  if (owned_.size() >= kMaxVms) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "a hypervisor holds at most %u VMs", kMaxVms));
  }
  vm->vmid = static_cast<uint16_t>(owned_.size());
  const uint16_t id = vm->vmid;
  // Release pairs with the acquire load in FindVm(): a vCPU or the HSM that
  // finds the VM sees it whole.
  table_[id].store(vm.get(), std::memory_order_release);
  owned_.push_back(std::move(vm));
  return id;
}

absl::StatusOr<EmulatedHypervisor::Vm*> EmulatedHypervisor::FindVm(
    uint16_t vmid) const {
  // Pairs with the release store in CreateVm().
  Vm* vm = vmid < kMaxVms ? table_[vmid].load(std::memory_order_acquire)
                          : nullptr;
  if (vm == nullptr) {
    return absl::NotFoundError(absl::StrFormat("no VM %u", vmid));
  }
  return vm;
}

absl::StatusOr<EmulatedHypervisor::Vcpu*> EmulatedHypervisor::FindVcpu(
    uint16_t vmid, uint32_t vcpu, Vm** vm_out) const {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (vcpu >= (*vm)->vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vmid, (*vm)->vcpu_num));
  }
  if (vm_out != nullptr) *vm_out = *vm;
  return &(*vm)->vcpus[vcpu];
}

SharedPage* EmulatedHypervisor::shared_page(uint16_t vmid) const {
  auto vm = FindVm(vmid);
  return vm.ok() ? &(*vm)->page->buffer : nullptr;
}

AcrnVpci* EmulatedHypervisor::vpci(uint16_t vmid) const {
  auto vm = FindVm(vmid);
  return vm.ok() ? (*vm)->vpci.get() : nullptr;
}

PostedRing* EmulatedHypervisor::posted_ring(uint16_t vmid) const {
  auto vm = FindVm(vmid);
  return vm.ok() ? (*vm)->posted_ring.get() : nullptr;
}

absl::Status EmulatedHypervisor::AssignPosted(
    uint16_t vmid, const PostedDescriptor& descriptor) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::lock_guard<std::mutex> lock((*vm)->posted_mu);
  (*vm)->posted.push_back(descriptor);
  // Release pairs with the acquire load in InsertRequest().
  (*vm)->posted_count.store(static_cast<uint32_t>((*vm)->posted.size()),
                            std::memory_order_release);
  return absl::OkStatus();
}

absl::Status EmulatedHypervisor::DeassignPosted(uint16_t vmid,
                                                uint64_t cookie) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::lock_guard<std::mutex> lock((*vm)->posted_mu);
  auto& list = (*vm)->posted;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->cookie == cookie) {
      list.erase(it);
      (*vm)->posted_count.store(static_cast<uint32_t>(list.size()),
                                std::memory_order_release);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(
      absl::StrFormat("VM %u has no posted descriptor %u", vmid, cookie));
}

uint64_t EmulatedHypervisor::MatchPosted(Vm& vm, const IoAccess& access) {
  // Pairs with the release stores in AssignPosted()/DeassignPosted().
  if (vm.posted_count.load(std::memory_order_acquire) == 0) return 0;
  if (access.type != kTypePortIo && access.type != kTypeMmio) return 0;
  // ACRN's get_asyncio_desc() does not look at the direction; the hardened
  // hypervisor posts writes only (a read must have a value).
  if (profile_ != Profile::kAcrn && access.direction != kDirWrite) return 0;
  std::lock_guard<std::mutex> lock(vm.posted_mu);
  for (const PostedDescriptor& d : vm.posted) {
    if (d.type == access.type && d.address == access.address &&
        (!d.match_data || d.data == access.value)) {
      return d.cookie;
    }
  }
  return 0;
}

bool EmulatedHypervisor::PutPostedWaiting(Vm& vm, uint64_t cookie) {
  for (int spins = 0;; ++spins) {
    PutResult r;
    {
      std::lock_guard<std::mutex> lock(vm.posted_mu);  // one producer
      r = PutPosted(*vm.posted_ring, cookie);
    }
    if (r == PutResult::kPut) return true;
    if (r == PutResult::kCorrupt) return false;
    // Full: the HSM is behind. ACRN's vCPU pauses and reschedules.
    if (spins < kPollSpinsBeforeYield) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }
}

absl::StatusOr<std::array<uint64_t, kIoRequestMax>>
EmulatedHypervisor::HandledInHypervisor(uint16_t vmid) const {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::array<uint64_t, kIoRequestMax> counts{};
  for (uint32_t i = 0; i < (*vm)->vcpu_num; ++i) {
    counts[i] = (*vm)->vcpus[i].handled_count.load(std::memory_order_relaxed);
  }
  return counts;
}

absl::Status EmulatedHypervisor::InsertRequest(uint16_t vmid, uint32_t vcpu,
                                       const IoAccess& access, bool polling) {
  Vm* vm = nullptr;
  absl::StatusOr<Vcpu*> v = FindVcpu(vmid, vcpu, &vm);
  if (!v.ok()) return v.status();
  // One request at a time: a vCPU waits in the hypervisor until its request
  // completes, so it traps nothing more. A request whose wait timed out is
  // still in flight until it is taken or abandoned, and a refusal here
  // leaves it so (ResetVm() waits for it). Only this vCPU's thread stores
  // in_flight true; relaxed is enough for its own earlier stores.
  if ((*v)->in_flight.load(std::memory_order_relaxed)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u: its request is still in flight (take it with "
        "WaitForCompletion() or give it up with AbandonRequest())",
        vmid, vcpu));
  }
  // A paused VM's vCPUs do not run, so they trap nothing. No lock in the
  // steady state: the vCPU marks itself in flight, then looks at `paused`;
  // PauseVm() stores `paused`, then ResetVm() looks at `in_flight`. Both
  // sides are seq_cst (a store, then a load of the other's word), so either
  // this insert sees the pause and backs off, or the reset sees the request
  // in flight and waits for it.
  for (;;) {
    (*v)->in_flight.store(true, std::memory_order_seq_cst);
    if (!vm->paused.load(std::memory_order_seq_cst)) break;
    (*v)->in_flight.store(false, std::memory_order_seq_cst);
    std::unique_lock<std::mutex> lock(vm->pause_mu);
    vm->resumed.wait(lock, [&] {
      return !vm->paused.load(std::memory_order_seq_cst);
    });
  }
  const bool acrn = profile_ == Profile::kAcrn;
  (*v)->handled_here = false;
  if (acrn) {
    // [acrn-vpci] The hypervisor's own handlers run first.
    const VpciOutcome o = vm->vpci->Filter(access);
    if (o.verdict == VpciVerdict::kHandled) {
      (*v)->access = access;
      (*v)->handled_here = true;
      (*v)->handled_value = o.value;
      handled_in_hypervisor_.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    polling = vm->polling_vm;  // [acrn-polling]
  }
  // [posted] No slot and no wait for a write a descriptor matches.
  if (const uint64_t cookie = MatchPosted(*vm, access); cookie != 0) {
    if (PutPostedWaiting(*vm, cookie)) {
      (*v)->access = access;
      (*v)->handled_here = true;
      (*v)->handled_value = 0;
      posted_.fetch_add(1, std::memory_order_relaxed);
      if (access.direction == kDirRead) {
        posted_reads_.fetch_add(1, std::memory_order_relaxed);
      }
      FireUpcall(vmid, vcpu);
      return absl::OkStatus();
    }
    posted_corrupt_.fetch_add(1, std::memory_order_relaxed);
  }
  IoRequest& slot = vm->page->buffer.slots[vcpu];
  // Pairs with the HSM's release of COMPLETE, or with our own store of FREE:
  // only a FREE slot is ours to fill.
  const uint32_t state = LoadStateAcquire(slot);
  if (state != kStateFree) {
    // Pairs with the acquire loads in ResetVm() and WaitForCompletion().
    (*v)->in_flight.store(false, std::memory_order_release);
    insert_refused_.fetch_add(1, std::memory_order_relaxed);
    if (acrn) gp_injected_.fetch_add(1, std::memory_order_relaxed);
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u: slot is %s, not FREE%s", vmid, vcpu, StateName(state),
        acrn ? " (#GP injected into the guest)" : ""));
  }
  (*v)->access = access;
  (*v)->polling.store(polling, std::memory_order_relaxed);
  EncodeAccess(access, slot);
  if (acrn) {
    // [acrn-insert] acrn_insert_request() writes completion_polling only
    // when it is 1, and never kernel_handled or the reserved fields.
    if (polling) slot.completion_polling = 1;
  } else {
    std::memset(slot.reserved0, 0, sizeof(slot.reserved0));
    slot.reserved1 = 0;
    // [kernel-handled] No device model's until routing says so. Atomic: a
    // device model that scans the page may be reading it.
    StoreKernelHandledRelaxed(slot, 1);
    slot.completion_polling = polling ? 1 : 0;
  }
  // The write barrier of [hv-insert]: every field above is visible before
  // PENDING is. Pairs with the dispatcher's LoadStateAcquire() in
  // Hsm::DispatchVm().
  StoreStateRelease(slot, kStatePending);
  CountOwn((*v)->inserted);
  FireUpcall(vmid, vcpu);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EmulatedHypervisor::WaitForCompletion(uint16_t vmid,
                                                       uint32_t vcpu,
                                                       absl::Duration timeout) {
  Vm* vm = nullptr;
  absl::StatusOr<Vcpu*> v = FindVcpu(vmid, vcpu, &vm);
  if (!v.ok()) return v.status();
  // Pairs with the release store in InsertRequest().
  if (!(*v)->in_flight.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u has no request in flight", vmid, vcpu));
  }
  if ((*v)->handled_here) {  // [acrn-vpci]: no slot, no wait
    (*v)->handled_here = false;
    CountOwn((*v)->handled_count);
    // Pairs with the acquire loads in ResetVm().
    (*v)->in_flight.store(false, std::memory_order_release);
    return (*v)->handled_value;
  }
  IoRequest& slot = vm->page->buffer.slots[vcpu];
  // No clock is read on the common path (rung, COMPLETE): the first wait
  // takes the timeout as it is, relative, and the deadline is read from the
  // clock only when a wait ended without the completion. The timeout then
  // counts from there: late by at most one rescan interval.
  absl::Time deadline = absl::InfiniteFuture();
  auto left = [&]() {
    if (timeout == absl::InfiniteDuration()) return timeout;
    const absl::Time now = absl::Now();
    if (deadline == absl::InfiniteFuture()) deadline = now + timeout;
    return deadline - now;
  };
  auto expired = [&]() {
    return absl::DeadlineExceededError(absl::StrFormat(
        "VM %u vCPU %u: no completion within %s", vmid, vcpu,
        absl::FormatDuration(timeout)));
  };
  // Each LoadStateAcquire() here pairs with the HSM's release of COMPLETE
  // (CompleteSlot() in core/hsm/hsm.cc): once COMPLETE is seen, the value the
  // client wrote for a read is visible.
  if ((*v)->polling.load(std::memory_order_relaxed)) {
    WakeBatch::Flush();  // a poll of the slot carries no held wake
    for (uint64_t spins = 0; LoadStateAcquire(slot) != kStateComplete;
         ++spins) {
      if (spins < kPollSpinsBeforeYield) {
        CpuRelax();
        continue;
      }
      sched_yield();
      if ((spins & 63) == 0 && left() <= absl::ZeroDuration()) return expired();
    }
  } else if (profile_ == Profile::kAcrn) {
    if (absl::Status s = WaitNotifiedAcrn(*vm, **v, vcpu, timeout); !s.ok()) {
      return s;
    }
  } else {
    absl::Duration remaining = timeout;
    while (LoadStateAcquire(slot) != kStateComplete) {
      const absl::Duration wait = std::min(remaining, completion_rescan_);
      // Rung: look again (a ring may be spurious).
      const bool rung = (*v)->completion->WaitFor(wait);
      if (LoadStateAcquire(slot) == kStateComplete) {
        // [rescan]: completed, but the notification never came.
        if (!rung && remaining > completion_rescan_) {
          rescued_by_rescan_.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      }
      if (!rung && wait == remaining) return expired();  // all of it passed
      remaining = left();
      if (remaining <= absl::ZeroDuration()) return expired();
    }
  }
  const IoAccess& access = (*v)->access;
  uint64_t value = 0;
  if (access.direction == kDirRead) {
    value = RequestValue(slot) & SizeMask(access.size);
  }
  // COMPLETE -> FREE: the slot is the hypervisor's again. Release pairs with
  // the next InsertRequest()'s acquire and with the dispatcher, which skips
  // FREE slots.
  StoreStateRelease(slot, kStateFree);
  CountOwn((*v)->completed);
  // Pairs with the acquire loads in ResetVm().
  (*v)->in_flight.store(false, std::memory_order_release);
  return value;
}

absl::Status EmulatedHypervisor::WaitNotifiedAcrn(Vm& vm, Vcpu& v,
                                                  uint32_t vcpu,
                                                  absl::Duration timeout) {
  // wait_event(VCPU_EVENT_IOREQ): one sticky flag, no look at the slot
  // until it is set, no rescan. A ring left over from before this request
  // (a stray or duplicate notification) releases the vCPU at once. A wait
  // returns false only once its whole timeout passed: no clock is read.
  if (!v.completion->WaitFor(timeout)) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "VM %u vCPU %u: no notification within %s (ACRN's vCPU has no "
        "rescan)", vm.vmid, vcpu, absl::FormatDuration(timeout)));
  }
  // dm_emulate_io_complete(): the completion is taken only if COMPLETE.
  // Pairs with the HSM's release of COMPLETE.
  const uint32_t state = LoadStateAcquire(vm.page->buffer.slots[vcpu]);
  if (state == kStateComplete) return absl::OkStatus();
  released_without_value_.fetch_add(1, std::memory_order_relaxed);
  // The vCPU runs on; the slot is not freed, so its next insert is refused.
  // Pairs with the acquire loads in ResetVm().
  v.in_flight.store(false, std::memory_order_release);
  return absl::DataLossError(absl::StrFormat(
      "VM %u vCPU %u: woken with its slot %s, not COMPLETE: the guest "
      "resumes without a value and the slot is not freed (ACRN)",
      vm.vmid, vcpu, StateName(state)));
}

absl::Status EmulatedHypervisor::AbandonRequest(uint16_t vmid,
                                                   uint32_t vcpu) {
  absl::StatusOr<Vcpu*> v = FindVcpu(vmid, vcpu);
  if (!v.ok()) return v.status();
  // Release pairs with the acquire loads in ResetVm(): this thread touches
  // the slot no more.
  if (!(*v)->in_flight.exchange(false, std::memory_order_acq_rel)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u has no request in flight", vmid, vcpu));
  }
  abandoned_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EmulatedHypervisor::EmulateAccess(uint16_t vmid,
                                                   uint32_t vcpu,
                                                   const IoAccess& access,
                                                   bool polling,
                                                   absl::Duration timeout) {
  // set_carry_wakes(): the upcall's wake goes out with this vCPU's sleep
  // for its completion (one system call with the uring strategy), unless
  // the woken thread last slept on this CPU: then at once, so that it can
  // serve while this vCPU is still awake.
  WakeBatch upcall_wake(carry_wakes_ ? WakeBatch::kOtherCpusOnly
                                     : WakeBatch::kNone);
  absl::Status inserted = InsertRequest(vmid, vcpu, access, polling);
  if (!inserted.ok()) return inserted;
  return WaitForCompletion(vmid, vcpu, timeout);
}

absl::Status EmulatedHypervisor::NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) {
  Vm* vm = nullptr;
  absl::StatusOr<Vcpu*> v = FindVcpu(vmid, vcpu, &vm);
  if (!v.ok()) return v.status();
  notifications_.fetch_add(1, std::memory_order_relaxed);
  // [acrn-polling] ACRN signals nothing for a polling VM.
  if (profile_ == Profile::kAcrn && vm->polling_vm) return absl::OkStatus();
  // Under `hardened` the vCPU re-checks the state word after every wake, so
  // a spurious or early ring is harmless; under `acrn` it is not
  // [acrn-wake].
  (*v)->completion->Ring();
  return absl::OkStatus();
}

absl::Status EmulatedHypervisor::PauseVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::lock_guard<std::mutex> lock((*vm)->pause_mu);
  // seq_cst: pairs with InsertRequest()'s store of in_flight then load of
  // paused (see there).
  (*vm)->paused.store(true, std::memory_order_seq_cst);
  return absl::OkStatus();
}

absl::Status EmulatedHypervisor::ResumeVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  {
    // Under pause_mu, so a vCPU between its check and its wait cannot miss
    // the notify_all() below.
    std::lock_guard<std::mutex> lock((*vm)->pause_mu);
    (*vm)->paused.store(false, std::memory_order_seq_cst);
  }
  (*vm)->resumed.notify_all();
  return absl::OkStatus();
}

absl::Status EmulatedHypervisor::ResetVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  if (!(*vm)->paused.load(std::memory_order_seq_cst)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u must be paused to be reset", vmid));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  for (uint32_t i = 0; i < (*vm)->vcpu_num; ++i) {
    // seq_cst: pairs with InsertRequest()'s store of in_flight (see there),
    // and with the release stores of in_flight false by the vCPU's thread:
    // once false, that thread no longer touches the slot.
    while ((*vm)->vcpus[i].in_flight.load(std::memory_order_seq_cst)) {
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "VM %u vCPU %u still waits for its request; not reset", vmid, i));
      }
      absl::SleepFor(absl::Microseconds(100));
    }
  }
  for (IoRequest& slot : (*vm)->page->buffer.slots) {
    ClearSlotRelaxed(slot);
    // Pairs with the next InsertRequest()'s acquire.
    StoreStateRelease(slot, kStateFree);
  }
  return absl::OkStatus();
}

HypervisorStats EmulatedHypervisor::stats() const {
  HypervisorStats s;
  for (const std::atomic<Vm*>& entry : table_) {
    // Pairs with the release store in CreateVm().
    const Vm* vm = entry.load(std::memory_order_acquire);
    if (vm == nullptr) continue;
    for (uint32_t i = 0; i < vm->vcpu_num; ++i) {
      s.inserted += vm->vcpus[i].inserted.load(std::memory_order_relaxed);
      s.completed += vm->vcpus[i].completed.load(std::memory_order_relaxed);
    }
  }
  s.notifications = notifications_.load(std::memory_order_relaxed);
  s.insert_refused = insert_refused_.load(std::memory_order_relaxed);
  s.rescued_by_rescan = rescued_by_rescan_.load(std::memory_order_relaxed);
  s.abandoned = abandoned_.load(std::memory_order_relaxed);
  s.handled_in_hypervisor =
      handled_in_hypervisor_.load(std::memory_order_relaxed);
  s.gp_injected = gp_injected_.load(std::memory_order_relaxed);
  s.released_without_value =
      released_without_value_.load(std::memory_order_relaxed);
  s.posted = posted_.load(std::memory_order_relaxed);
  s.posted_reads = posted_reads_.load(std::memory_order_relaxed);
  s.posted_corrupt = posted_corrupt_.load(std::memory_order_relaxed);
  return s;
}

uint64_t EmulatedHypervisor::syscalls() const {
  uint64_t total = 0;
  for (const auto& slot : table_) {
    // Pairs with the release store in CreateVm().
    const Vm* vm = slot.load(std::memory_order_acquire);
    if (vm == nullptr) break;  // ids are handed out in order
    for (uint32_t i = 0; i < vm->vcpu_num; ++i) {
      total += vm->vcpus[i].completion->syscalls();
    }
  }
  return total;
}


}  // namespace ioreq
