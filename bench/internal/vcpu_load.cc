#include "bench/internal/vcpu_load.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/abi/slot_state.h"
#include "core/hsm/cf8cfc.h"
#include "core/notify/wake_batch.h"

namespace bench {
namespace stress_internal {

Marks VcpuLoad::Snapshot(bool bar_access) const {
  const auto& slot = vm_->marks[vcpu_];
  Marks m;
  m.garbage = slot.garbage.load(std::memory_order_seq_cst);
  m.clean = slot.clean.load(std::memory_order_seq_cst);
  m.stall = slot.stall.load(std::memory_order_seq_cst);
  m.drop = slot.drop.load(std::memory_order_seq_cst);
  m.clear = vm_->clear_epoch.load(std::memory_order_seq_cst);
  // A destroyed BAR client touches BAR accesses only.
  m.destroy = bar_access ? vm_->destroy_epoch.load(std::memory_order_seq_cst) : 0;
  m.pause = h_->pause_epoch.load(std::memory_order_seq_cst);
  return m;
}

uint32_t VcpuLoad::Touched(const Marks& b, const Marks& a) const {
  uint32_t t = 0;
  // Garbage: written during the request, or before it and not reset since.
  if (a.garbage != b.garbage || b.garbage != b.clean) t |= FaultBit(Fault::kGarbage);
  if (a.stall != b.stall) t |= FaultBit(Fault::kStall);
  if (a.drop != b.drop) t |= FaultBit(Fault::kDrop);
  // Epochs: changed meanwhile, or odd (in progress) at the start.
  if (a.clear != b.clear || (b.clear & 1)) t |= FaultBit(Fault::kClear);
  if (a.destroy != b.destroy || (b.destroy & 1)) t |= FaultBit(Fault::kDestroy);
  if (a.pause != b.pause || (b.pause & 1)) t |= FaultBit(Fault::kPause);
  return t & config_.faults.enabled;
}

void VcpuLoad::Recover(bool abandon) {
  heartbeat_->Beat("recovering a wedged slot (VM reset)");
  if (abandon) hv_->AbandonRequest(vm_->vmid, vcpu_).IgnoreError();
  // A reset fails while another vCPU still waits for a wedged request of
  // its own; that vCPU gives up within wedge_timeout, so retry.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (h_->ResetVmCleanly(*vm_).ok()) return;
    heartbeat_->Beat("recovering a wedged slot (VM reset, retrying)");
    absl::SleepFor(absl::Milliseconds(10));
  }
  // Left as it is: the next insert is refused and recovery runs again.
}

Completion VcpuLoad::Issue(const ioreq::IoAccess& access) {
  heartbeat_->Beat("issuing a request");
  absl::Time start = absl::Now();
  if (config_.offered_rate_per_vcpu > 0) {
    // The schedule, not the last completion, says when this request is due;
    // a late request's wait counts in its latency.
    const absl::Time intended =
        load_start_ + absl::Seconds(static_cast<double>(issued.load(
                                        std::memory_order_relaxed)) /
                                    config_.offered_rate_per_vcpu);
    if (intended > start) absl::SleepFor(intended - start);
    start = intended;
  }
  const bool bar_access =
      access.type == ioreq::kTypeMmio && access.address >= kBarBase &&
      access.address < kBarBase + shadow_.size() * kBarSize;
  const Marks before = Snapshot(bar_access);
  issued.fetch_add(1, std::memory_order_relaxed);
  h_->issued.fetch_add(1, std::memory_order_relaxed);
  Completion c;
  const bool garbage_on = h_->on(Fault::kGarbage);
  FaultTally& garbage = tallies[static_cast<int>(Fault::kGarbage)];

  // StressConfig::carry_wakes: the upcall's wake goes out with this vCPU's
  // sleep for its completion (core/notify/wake_batch.h).
  ioreq::WakeBatch upcall_wake(config_.carry_wakes
                                   ? ioreq::WakeBatch::kOtherCpusOnly
                                   : ioreq::WakeBatch::kNone);
  heartbeat_->Beat("InsertRequest");
  absl::Status inserted =
      hv_->InsertRequest(vm_->vmid, vcpu_, access, config_.polling);
  if (!inserted.ok()) {
    if (Touched(before, Snapshot(bar_access)) & FaultBit(Fault::kGarbage)) {
      ++garbage.touched;
      ++garbage.insert_refused;
      Recover(/*abandon=*/false);
      c.end = Completion::kNoValue;
      return c;
    }
    lost.fetch_add(1, std::memory_order_relaxed);
    Problem(absl::StrFormat("VM %u vCPU %u: insert refused into a slot no "
                            "fault touched: %s", vm_->vmid, vcpu_,
                            inserted.ToString()));
    c.end = Completion::kStop;
    return c;
  }
  // Waits in slices while garbage runs, to notice a wedged slot early.
  const absl::Duration slice =
      garbage_on ? std::min(config_.faults.wedge_timeout, config_.completion_timeout)
                 : config_.completion_timeout;
  const absl::Time wait_start = absl::Now();
  absl::StatusOr<uint64_t> got;
  for (;;) {
    heartbeat_->Beat("WaitForCompletion");
    got = hv_->WaitForCompletion(vm_->vmid, vcpu_, slice);
    if (got.ok()) break;
    const bool timed_out = got.status().code() == absl::StatusCode::kDeadlineExceeded;
    if (timed_out &&
        (Touched(before, Snapshot(bar_access)) & FaultBit(Fault::kGarbage))) {
      ++garbage.touched;
      ++garbage.gave_up;
      Recover(/*abandon=*/true);
      c.end = Completion::kNoValue;
      return c;
    }
    if (!timed_out || absl::Now() - wait_start >= config_.completion_timeout) {
      lost.fetch_add(1, std::memory_order_relaxed);
      const uint32_t state =
          ioreq::LoadStateAcquire(h_->hv.shared_page(vm_->vmid)->slots[vcpu_]);
      Problem(absl::StrFormat("VM %u vCPU %u: %s (slot %s)", vm_->vmid, vcpu_,
                              got.status().ToString(), ioreq::StateName(state)));
      c.end = Completion::kStop;
      return c;
    }
  }
  const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - start);
  completed.fetch_add(1, std::memory_order_relaxed);
  ++taken;
  histogram.Record(static_cast<uint64_t>(ns < 0 ? 0 : ns));
  c.value = *got;
  c.touched = Touched(before, Snapshot(bar_access));
  for (Fault f : kAllFaults) {
    if (c.touched & FaultBit(f)) ++tallies[static_cast<int>(f)].touched;
  }
  return c;
}

void VcpuLoad::SettleRead(const char* what, const Completion& c,
                                std::optional<uint64_t> want, uint64_t size) {
  if (c.end != Completion::kCompleted) return;
  const bool matches = !want.has_value() || c.value == *want;
  for (Fault f : kAllFaults) {
    if ((c.touched & FaultBit(f)) == 0) continue;
    FaultTally& t = tallies[static_cast<int>(f)];
    if (matches) {
      ++t.completed;
    } else {
      ++t.other_value;
      if (c.value == ioreq::SizeMask(size)) ++t.all_ones;
    }
  }
  if (matches || !c.verifiable()) return;
  if (h_->GarbageReaches(vm_->vmid)) {
    // A forged request may have written this device: not the model's fault.
    ++changed_by_garbage;
    return;
  }
  wrong.fetch_add(1, std::memory_order_relaxed);
  Problem(absl::StrFormat("VM %u vCPU %u: %s read 0x%x, expected 0x%x%s",
                          vm_->vmid, vcpu_, what, c.value, *want,
                          c.touched ? " (touched by a timing fault only)" : ""));
}

void VcpuLoad::SettleWrite(const Completion& c) {
  if (c.end != Completion::kCompleted) return;
  for (Fault f : kAllFaults) {
    if (c.touched & FaultBit(f)) ++tallies[static_cast<int>(f)].completed;
  }
}

bool VcpuLoad::MmioWrite() {
  const size_t bar = rng_() % shadow_.size();
  const uint64_t size = Size();
  const uint64_t offset = (rng_() % kShadowBytes) & ~(size - 1);
  const uint64_t value = rng_() & ioreq::SizeMask(size);
  const Completion c = Issue(ioreq::MmioWrite(
      kBarBase + bar * kBarSize + vcpu_ * kVcpuWindow + offset, size, value));
  if (c.end == Completion::kStop) return false;
  SettleWrite(c);
  // What the BAR holds now is known only if the write surely landed.
  const bool landed = c.verifiable();
  for (uint64_t i = 0; i < size; ++i) {
    shadow_[bar][offset + i] = static_cast<uint8_t>(value >> (8 * i));
    known_[bar][offset + i] = landed;
  }
  return true;
}

bool VcpuLoad::MmioRead() {
  const size_t bar = rng_() % shadow_.size();
  const uint64_t size = Size();
  const uint64_t offset = (rng_() % kShadowBytes) & ~(size - 1);
  uint64_t want = 0;
  bool known = true;
  for (uint64_t i = 0; i < size; ++i) {
    want |= uint64_t{shadow_[bar][offset + i]} << (8 * i);
    known &= known_[bar][offset + i];
  }
  const Completion c = Issue(ioreq::MmioRead(
      kBarBase + bar * kBarSize + vcpu_ * kVcpuWindow + offset, size));
  if (c.end == Completion::kStop) return false;
  SettleRead("BAR", c, known ? std::optional<uint64_t>(want) : std::nullopt,
             size);
  return true;
}

bool VcpuLoad::UartStatus() {
  const Completion c = Issue(ioreq::PortRead(kUartBase + 5, 1));
  if (c.end == Completion::kStop) return false;
  SettleRead("UART LSR", c,
             ioreq::Uart16550::kLsrThrEmpty | ioreq::Uart16550::kLsrTxEmpty, 1);
  return true;
}

bool VcpuLoad::UartTransmit() {
  const uint8_t byte = static_cast<uint8_t>(rng_());
  const Completion c = Issue(ioreq::PortWrite(kUartBase, 1, byte));
  if (c.end == Completion::kStop) return false;
  SettleWrite(c);
  if (c.verifiable()) {
    vm_->thr_bytes.fetch_add(1, std::memory_order_relaxed);
    vm_->thr_sum.fetch_add(byte, std::memory_order_relaxed);
  } else {
    vm_->uncertain_bytes.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

bool VcpuLoad::PciIdRead() {
  const PciId& d = kPciIds[rng_() % kPciIds.size()];
  const bool device_id = rng_() % 2;  // reg 2, size 2 via port 0xCFE
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  const Completion address = Issue(ioreq::PortWrite(
      ioreq::kPciConfigAddressPort, 4, ConfigAddress(d.bus, d.dev, d.func, 0)));
  if (address.end == Completion::kStop) return false;
  SettleWrite(address);
  if (!address.verifiable()) return true;  // the latch is not known: abandon
  const uint64_t port = ioreq::kPciConfigDataPort + (device_id ? 2 : 0);
  Completion data = Issue(ioreq::PortRead(port, device_id ? 2 : 4));
  if (data.end == Completion::kStop) return false;
  SettleRead("PCI ID", data, device_id ? d.id >> 16 : d.id, device_id ? 2 : 4);
  return true;
}

bool VcpuLoad::PciScratch() {
  const uint32_t reg = kScratchBase + 4 * vcpu_;
  const bool write = rng_() % 2;
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  const Completion address = Issue(ioreq::PortWrite(
      ioreq::kPciConfigAddressPort, 4, ConfigAddress(0, kScratchDev, 0, reg)));
  if (address.end == Completion::kStop) return false;
  SettleWrite(address);
  // If the address write may not have landed, a data write could reach
  // another vCPU's register: the cycle is abandoned.
  if (!address.verifiable()) return true;
  if (write) {
    const uint32_t value = static_cast<uint32_t>(rng_());
    const Completion c =
        Issue(ioreq::PortWrite(ioreq::kPciConfigDataPort, 4, value));
    if (c.end == Completion::kStop) return false;
    SettleWrite(c);
    scratch_ = value;
    scratch_known_ = c.verifiable();
    return true;
  }
  const uint64_t byte = rng_() % 4;  // one byte of it, via 0xCFC + byte
  const Completion c =
      Issue(ioreq::PortRead(ioreq::kPciConfigDataPort + byte, 1));
  if (c.end == Completion::kStop) return false;
  SettleRead("PCI scratch", c,
             scratch_known_ ? std::optional<uint64_t>((scratch_ >> (8 * byte)) & 0xFF)
                            : std::nullopt,
             1);
  return true;
}

bool VcpuLoad::PciDisabled() {
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  const Completion address = Issue(ioreq::PortWrite(
      ioreq::kPciConfigAddressPort, 4,
      ConfigAddress(0, 3, 0, 0, /*enable=*/false)));
  if (address.end == Completion::kStop) return false;
  SettleWrite(address);
  if (!address.verifiable()) return true;
  const uint64_t size = uint64_t{1} << (rng_() % 3);
  const Completion c = Issue(ioreq::PortRead(ioreq::kPciConfigDataPort, size));
  if (c.end == Completion::kStop) return false;
  SettleRead("disabled config cycle", c, ioreq::SizeMask(size), size);
  return true;
}

bool VcpuLoad::DoorbellWrite() {
  const Completion c = Issue(ioreq::MmioWrite(kDoorbell, 4, rng_() & 0xFFFFFFFF));
  if (c.end == Completion::kStop) return false;
  SettleWrite(c);
  if (c.verifiable()) {
    vm_->doorbell_writes.fetch_add(1, std::memory_order_relaxed);
  } else {
    vm_->uncertain_kicks.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

bool VcpuLoad::DoorbellRead() {
  const Completion c = Issue(ioreq::MmioRead(kDoorbell, 4));
  if (c.end == Completion::kStop) return false;
  if (!config_.posted_doorbell) {
    SettleRead("ioeventfd", c, 0, 4);  // an ioeventfd answers reads 0
  } else if (config_.profile == ioreq::Profile::kAcrn) {
    // ACRN posts a read too (no direction test): no value, and the
    // doorbell's eventfd is signalled as for a write.
    SettleRead("posted doorbell", c, std::nullopt, 4);
    if (c.verifiable()) {
      vm_->doorbell_writes.fetch_add(1, std::memory_order_relaxed);
    } else {
      vm_->uncertain_kicks.fetch_add(1, std::memory_order_relaxed);
    }
  } else {
    SettleRead("posted doorbell", c, 0xFFFFFFFFu, 4);  // the device model's
  }
  return true;
}

bool VcpuLoad::Unclaimed() {
  const Completion c = Issue(ioreq::PortRead(kUnclaimedPort, 1));
  if (c.end == Completion::kStop) return false;
  SettleRead("unclaimed port", c, 0xFF, 1);
  return true;
}

absl::Status VcpuLoad::Trapped(ioreq::IoAccess& access,
                               volatile uint32_t* relaxed) {
  const Completion c = Issue(access);
  if (c.end == Completion::kStop) {
    Finished();
    return absl::DataLossError(absl::StrFormat(
        "VM %u vCPU %u: request lost; the vCPU stops", vm_->vmid, vcpu_));
  }
  if (!c.verifiable()) *relaxed = *relaxed + 1;  // the guest alone writes it otherwise
  SettleWrite(c);  // per-fault tallies; the guest settles the value
  access.value = c.end == Completion::kCompleted
                     ? c.value
                     : ioreq::SizeMask(access.size);
  return absl::OkStatus();
}

void VcpuLoad::GuestFound(uint32_t failures, const std::string& message) {
  if (failures == 0) return;
  if (h_->GarbageReaches(vm_->vmid)) {
    // A forged request may have written this device: not the model's fault.
    changed_by_garbage += failures;
    return;
  }
  wrong.fetch_add(failures, std::memory_order_relaxed);
  Problem(absl::StrFormat("VM %u vCPU %u: the guest found %u wrong values; "
                          "first: %s",
                          vm_->vmid, vcpu_, failures, message));
}

void VcpuLoad::Run(absl::Time deadline) {
  // Weights of the access mix, out of 100.
  using Op = bool (VcpuLoad::*)();
  static constexpr std::array<std::pair<int, Op>, 10> kMix =
      {{{30, &VcpuLoad::MmioWrite},
        {30, &VcpuLoad::MmioRead},
        {5, &VcpuLoad::UartStatus},
        {5, &VcpuLoad::UartTransmit},
        {8, &VcpuLoad::PciIdRead},
        {8, &VcpuLoad::PciScratch},
        {3, &VcpuLoad::PciDisabled},
        {5, &VcpuLoad::DoorbellWrite},
        {3, &VcpuLoad::DoorbellRead},
        {3, &VcpuLoad::Unclaimed}}};
  const bool timed = config_.seconds > 0;
  load_start_ = absl::Now();
  auto done = [&] {
    return timed ? absl::Now() >= deadline
                 : issued.load(std::memory_order_relaxed) >= quota_;
  };
  while (!done()) {
    int pick = static_cast<int>(rng_() % 100);
    // A configuration cycle takes up to 3 requests: near the end of the
    // quota only single-request accesses are picked, so that exactly
    // `quota_` requests are issued.
    if (!timed && quota_ - issued.load(std::memory_order_relaxed) < 3) {
      pick %= 60;  // the two BAR accesses
    }
    for (const auto& [weight, op] : kMix) {
      if (pick < weight) {
        if (!(this->*op)()) {  // lost: this vCPU is stuck
          heartbeat_->finished.store(true, std::memory_order_relaxed);
          return;
        }
        break;
      }
      pick -= weight;
    }
  }
  heartbeat_->finished.store(true, std::memory_order_relaxed);
}

}  // namespace stress_internal
}  // namespace bench
