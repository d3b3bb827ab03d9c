#include "core/harness/hypervisor.h"

#include <sched.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "core/abi/slot_state.h"

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

}  // namespace

template <typename Bell>
BasicHypervisor<Bell>::BasicHypervisor(absl::Duration completion_rescan)
    : completion_rescan_(completion_rescan) {}
template <typename Bell>
BasicHypervisor<Bell>::~BasicHypervisor() = default;

template <typename Bell>
void BasicHypervisor<Bell>::SetUpcallHandler(
    std::function<void(uint16_t, uint32_t)> handler) {
  std::lock_guard<std::mutex> lock(upcall_mu_);
  upcall_ = std::move(handler);
  // Pairs with the acquire load in FireUpcall(): a vCPU that sees the flag
  // sees the handler.
  has_upcall_.store(static_cast<bool>(upcall_), std::memory_order_release);
}

template <typename Bell>
void BasicHypervisor<Bell>::FireUpcall(uint16_t vmid, uint32_t vcpu) {
  if (has_upcall_.load(std::memory_order_acquire)) upcall_(vmid, vcpu);
}

template <typename Bell>
absl::StatusOr<uint16_t> BasicHypervisor<Bell>::CreateVm(uint32_t vcpu_num) {
  if (vcpu_num < 1 || vcpu_num > static_cast<uint32_t>(kIoRequestMax)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vcpu_num %u: a VM has 1 to %d vCPUs", vcpu_num, kIoRequestMax));
  }
  auto vm = std::make_unique<Vm>();
  vm->vcpu_num = vcpu_num;
  vm->page = std::make_unique<PageFrame>();
  std::memset(static_cast<void*>(vm->page.get()), 0, sizeof(PageFrame));
  for (IoRequest& slot : vm->page->buffer.slots) {
    StoreStateRelease(slot, kStateFree);
  }
  vm->vcpus = std::make_unique<Vcpu[]>(vcpu_num);
  std::lock_guard<std::mutex> lock(vms_mu_);
  vm->vmid = next_vmid_++;
  const uint16_t id = vm->vmid;
  vms_.emplace(id, std::move(vm));
  return id;
}

template <typename Bell>
absl::StatusOr<typename BasicHypervisor<Bell>::Vm*> BasicHypervisor<Bell>::FindVm(uint16_t vmid) const {
  std::lock_guard<std::mutex> lock(vms_mu_);
  auto it = vms_.find(vmid);
  if (it == vms_.end()) {
    return absl::NotFoundError(absl::StrFormat("no VM %u", vmid));
  }
  return it->second.get();
}

template <typename Bell>
absl::StatusOr<typename BasicHypervisor<Bell>::Vcpu*> BasicHypervisor<Bell>::FindVcpu(
    Vm* vm, uint32_t vcpu) const {
  if (vcpu >= vm->vcpu_num) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vCPU %u: VM %u has %u vCPUs", vcpu, vm->vmid, vm->vcpu_num));
  }
  return &vm->vcpus[vcpu];
}

template <typename Bell>
SharedPage* BasicHypervisor<Bell>::shared_page(uint16_t vmid) const {
  auto vm = FindVm(vmid);
  return vm.ok() ? &(*vm)->page->buffer : nullptr;
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::InsertRequest(uint16_t vmid, uint32_t vcpu,
                                       const IoAccess& access, bool polling) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  absl::StatusOr<Vcpu*> v = FindVcpu(*vm, vcpu);
  if (!v.ok()) return v.status();
  {
    // A paused VM's vCPUs do not run, so they trap nothing.
    std::unique_lock<std::mutex> lock((*vm)->pause_mu);
    (*vm)->resumed.wait(lock, [&] { return !(*vm)->paused; });
    // Marked in flight while still holding pause_mu, so that ResetVm(),
    // which runs while paused, sees every request issued before the pause.
    // Pairs with the acquire loads in ResetVm().
    (*v)->in_flight.store(true, std::memory_order_release);
  }
  IoRequest& slot = (*vm)->page->buffer.slots[vcpu];
  // Pairs with the HSM's release of COMPLETE, or with our own store of FREE:
  // only a FREE slot is ours to fill.
  const uint32_t state = LoadStateAcquire(slot);
  if (state != kStateFree) {
    // Pairs with the acquire loads in ResetVm() and WaitForCompletion().
    (*v)->in_flight.store(false, std::memory_order_release);
    insert_refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u vCPU %u: slot is %s, not FREE", vmid, vcpu,
                        StateName(state)));
  }
  (*v)->access = access;
  (*v)->polling.store(polling, std::memory_order_relaxed);
  EncodeAccess(access, slot);
  std::memset(slot.reserved0, 0, sizeof(slot.reserved0));
  slot.reserved1 = 0;
  slot.kernel_handled = 0;
  slot.completion_polling = polling ? 1 : 0;
  // The write barrier of [hv-insert]: every field above is visible before
  // PENDING is. Pairs with the dispatcher's LoadStateAcquire() in
  // Hsm::DispatchVm().
  StoreStateRelease(slot, kStatePending);
  inserted_.fetch_add(1, std::memory_order_relaxed);
  FireUpcall(vmid, vcpu);
  return absl::OkStatus();
}

template <typename Bell>
absl::StatusOr<uint64_t> BasicHypervisor<Bell>::WaitForCompletion(uint16_t vmid,
                                                       uint32_t vcpu,
                                                       absl::Duration timeout) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  absl::StatusOr<Vcpu*> v = FindVcpu(*vm, vcpu);
  if (!v.ok()) return v.status();
  // Pairs with the release store in InsertRequest().
  if (!(*v)->in_flight.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "VM %u vCPU %u has no request in flight", vmid, vcpu));
  }
  IoRequest& slot = (*vm)->page->buffer.slots[vcpu];
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  // Each LoadStateAcquire() here pairs with the HSM's release of COMPLETE
  // (CompleteSlot() in core/hsm/hsm.cc): once COMPLETE is seen, the value the
  // client wrote for a read is visible.
  if ((*v)->polling.load(std::memory_order_relaxed)) {
    for (uint64_t spins = 0; LoadStateAcquire(slot) != kStateComplete;
         ++spins) {
      if (spins < kPollSpinsBeforeYield) {
        CpuRelax();
        continue;
      }
      sched_yield();
      if ((spins & 63) == 0 && absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "VM %u vCPU %u: no completion within %s", vmid, vcpu,
            absl::FormatDuration(timeout)));
      }
    }
  } else {
    while (LoadStateAcquire(slot) != kStateComplete) {
      const absl::Duration left = deadline - absl::Now();
      if ((*v)->completion.WaitFor(std::min(left, completion_rescan_))) {
        continue;  // rung: look again (a ring may be spurious)
      }
      if (LoadStateAcquire(slot) == kStateComplete) {
        // [rescan]: completed, but the notification never came.
        if (left > completion_rescan_) {
          rescued_by_rescan_.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "VM %u vCPU %u: no completion within %s", vmid, vcpu,
            absl::FormatDuration(timeout)));
      }
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
  completed_.fetch_add(1, std::memory_order_relaxed);
  // Pairs with the acquire loads in ResetVm().
  (*v)->in_flight.store(false, std::memory_order_release);
  return value;
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::AbandonRequest(uint16_t vmid,
                                                   uint32_t vcpu) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  absl::StatusOr<Vcpu*> v = FindVcpu(*vm, vcpu);
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

template <typename Bell>
absl::StatusOr<uint64_t> BasicHypervisor<Bell>::EmulateAccess(uint16_t vmid,
                                                   uint32_t vcpu,
                                                   const IoAccess& access,
                                                   bool polling,
                                                   absl::Duration timeout) {
  absl::Status inserted = InsertRequest(vmid, vcpu, access, polling);
  if (!inserted.ok()) return inserted;
  return WaitForCompletion(vmid, vcpu, timeout);
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  absl::StatusOr<Vcpu*> v = FindVcpu(*vm, vcpu);
  if (!v.ok()) return v.status();
  notifications_.fetch_add(1, std::memory_order_relaxed);
  // The vCPU re-checks the state word after every wake, so a spurious or
  // early ring is harmless.
  (*v)->completion.Ring();
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::PauseVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  std::lock_guard<std::mutex> lock((*vm)->pause_mu);
  (*vm)->paused = true;
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::ResumeVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  {
    std::lock_guard<std::mutex> lock((*vm)->pause_mu);
    (*vm)->paused = false;
  }
  (*vm)->resumed.notify_all();
  return absl::OkStatus();
}

template <typename Bell>
absl::Status BasicHypervisor<Bell>::ResetVm(uint16_t vmid) {
  absl::StatusOr<Vm*> vm = FindVm(vmid);
  if (!vm.ok()) return vm.status();
  {
    std::lock_guard<std::mutex> lock((*vm)->pause_mu);
    if (!(*vm)->paused) {
      return absl::FailedPreconditionError(
          absl::StrFormat("VM %u must be paused to be reset", vmid));
    }
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  for (uint32_t i = 0; i < (*vm)->vcpu_num; ++i) {
    // Pairs with the release stores of in_flight by the vCPU's thread: once
    // false, that thread no longer touches the slot.
    while ((*vm)->vcpus[i].in_flight.load(std::memory_order_acquire)) {
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

template <typename Bell>
HypervisorStats BasicHypervisor<Bell>::stats() const {
  HypervisorStats s;
  s.inserted = inserted_.load(std::memory_order_relaxed);
  s.completed = completed_.load(std::memory_order_relaxed);
  s.notifications = notifications_.load(std::memory_order_relaxed);
  s.insert_refused = insert_refused_.load(std::memory_order_relaxed);
  s.rescued_by_rescan = rescued_by_rescan_.load(std::memory_order_relaxed);
  s.abandoned = abandoned_.load(std::memory_order_relaxed);
  return s;
}

template <typename Bell>
uint64_t BasicHypervisor<Bell>::syscalls() const {
  std::lock_guard<std::mutex> lock(vms_mu_);
  uint64_t total = 0;
  for (const auto& [id, vm] : vms_) {
    for (uint32_t i = 0; i < vm->vcpu_num; ++i) {
      total += vm->vcpus[i].completion.syscalls();
    }
  }
  return total;
}

template class BasicHypervisor<SpinDoorbell>;
template class BasicHypervisor<EventfdDoorbell>;
template class BasicHypervisor<UringDoorbell>;
template class BasicHypervisor<UringEventfdDoorbell>;
template class BasicHypervisor<FutexDoorbell>;
template class BasicHypervisor<AdaptiveDoorbell>;

}  // namespace ioreq
