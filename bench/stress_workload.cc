#include "bench/stress_workload.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/device_model.h"
#include "core/notify/strategy.h"
#include "core/devices/mmio_bar.h"
#include "core/devices/pci_config_space.h"
#include "core/devices/uart16550.h"
#include "core/cf8cfc.h"
#include "core/slot_state.h"

namespace bench {
namespace {

using ioreq::IoAccess;

constexpr uint16_t kUartBase = 0x3F8;
constexpr uint64_t kBarBase = 0xE0000000;
constexpr uint64_t kBarSize = 0x10000;
constexpr uint64_t kVcpuWindow = kBarSize / ioreq::kIoRequestMax;
constexpr size_t kShadowBytes = 256;  // of each vCPU's window it checks
constexpr uint64_t kDoorbell = 0xD0000000;
constexpr uint64_t kUnclaimedPort = 0x80;
constexpr uint32_t kScratchDev = 4;   // 00:04.0, the test device
constexpr uint32_t kScratchBase = 0x40;
constexpr size_t kMaxProblems = 8;
constexpr size_t kStateOffset = offsetof(ioreq::IoRequest, processed);
constexpr int kExitProblem = 1;  // tools/flags/strict_flags.h's meaning

// Faults that may complete a request without emulating it, or garble it:
// the value of a request they touched is not checked.
constexpr uint32_t kRelaxingFaults = FaultBit(Fault::kGarbage) |
                                     FaultBit(Fault::kClear) |
                                     FaultBit(Fault::kDestroy);

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

uint32_t ConfigAddress(uint32_t bus, uint32_t dev, uint32_t func,
                       uint32_t reg, bool enable = true) {
  return (enable ? ioreq::kPciConfigEnable : 0) | (bus << 16) | (dev << 11) |
         (func << 8) | (reg & 0xFC);
}

struct PciId {
  uint32_t bus, dev, func, id;
};
// What the standard devices answer at register 0, and one absent function.
constexpr std::array<PciId, 5> kPciIds = {{
    {0, 0, 0, 0x12378086},
    {0, 3, 0, 0x10001AF4},
    {0, 4, 0, 0x00051B36},
    {1, 0, 0, 0x10011AF4},
    {0, 7, 0, 0xFFFFFFFF},
}};

// One VM's devices, and what the vCPUs sent to them.
template <typename Bell>
struct VmRig {
  uint16_t vmid = 0;
  ioreq::Uart16550 uart{kUartBase};
  std::vector<std::unique_ptr<ioreq::MmioBar>> bars;
  ioreq::PciConfigSpace pci;
  std::unique_ptr<ioreq::BasicDeviceModelThread<Bell>> device_model;
  int doorbell_fd = -1;
  std::mutex config_cycle;  // the guest's pci_config_lock
  std::atomic<uint64_t> thr_bytes{0}, thr_sum{0}, doorbell_writes{0};
  // Writes a fault touched: they may or may not have reached the device.
  std::atomic<uint64_t> uncertain_bytes{0}, uncertain_kicks{0};

  // What the fault threads did to this VM, read by its vCPUs around each
  // request. Every counter is bumped before the fault acts, so a request
  // that sees one unchanged across its whole life was not touched by it.
  struct alignas(64) SlotMarks {
    std::atomic<uint64_t> garbage{0};  // garbage writes into the slot
    std::atomic<uint64_t> clean{0};    // the garbage count a reset undid
    std::atomic<uint64_t> stall{0};    // stalls of the slot's requests
    std::atomic<uint64_t> drop{0};     // its notifications dropped
  };
  std::array<SlotMarks, ioreq::kIoRequestMax> marks;
  // Odd while a reset (clear) or a client re-creation (destroy) is under way.
  std::atomic<uint64_t> clear_epoch{0}, destroy_epoch{0};
  // Held by a reset and by each garbage write: no garbage lands during a
  // reset, so a reset that succeeds leaves every slot clean.
  std::mutex reset_mu;
  std::vector<ioreq::ClientId> bar_ids;  // the destroy thread's, after setup

  ~VmRig() {
    if (doorbell_fd >= 0) close(doorbell_fd);
  }
};

// A thread's proof of life for the watchdog: when it last made progress,
// and what it was doing then.
struct Heartbeat {
  explicit Heartbeat(std::string n) : name(std::move(n)) { Beat("starting"); }
  void Beat(const char* what) {
    where.store(what, std::memory_order_relaxed);
    last_ns.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  }
  const std::string name;
  std::atomic<int64_t> last_ns{0};
  std::atomic<const char*> where{""};
  std::atomic<bool> finished{false};
};

// What every thread of one run shares: the model, the devices, the faults.
template <typename Bell>
struct Harness {
  Harness(const StressConfig& c, ioreq::BasicHypervisor<Bell>& v,
          std::vector<std::unique_ptr<VmRig<Bell>>>& r)
      : config(c), hv(v), rigs(r) {}

  const StressConfig& config;
  ioreq::BasicHypervisor<Bell>& hv;
  ioreq::BasicHsm<Bell>* hsm = nullptr;  // set once built, before any thread
  std::vector<std::unique_ptr<VmRig<Bell>>>& rigs;  // indexed by vmid

  std::atomic<uint64_t> pause_epoch{0};  // odd while the HSM is paused
  std::atomic<uint64_t> issued{0};       // all vCPUs, for destroy's cadence
  std::array<std::atomic<uint64_t>, kFaultCount> injected{};
  std::atomic<uint64_t> handler_calls{0}, upcalls{0}, notifications{0};
  std::atomic<uint64_t> resets{0}, reset_failures{0};
  std::mutex errors_mu;
  std::vector<std::string> fault_errors;  // guarded by errors_mu

  bool on(Fault f) const { return config.faults.on(f); }
  // Garbage spares VM 0 when there are two VMs or more (the control VM).
  bool GarbageReaches(uint16_t vmid) const {
    return on(Fault::kGarbage) && (rigs.size() == 1 || vmid != 0);
  }
  void Injected(Fault f) {
    injected[static_cast<int>(f)].fetch_add(1, std::memory_order_relaxed);
  }
  void FaultError(std::string text) {
    std::lock_guard<std::mutex> lock(errors_mu);
    if (fault_errors.size() < kMaxProblems) fault_errors.push_back(std::move(text));
  }
  // True (once in `every`) when this event is the one to lose.
  static bool OneIn(std::atomic<uint64_t>& counter, int every) {
    return counter.fetch_add(1, std::memory_order_relaxed) % every ==
           static_cast<uint64_t>(every - 1);
  }

  // Resets the VM as its device model would (pause, clear, reset, resume);
  // on success every slot is clean again. Serialized with garbage writes.
  absl::Status ResetVmCleanly(VmRig<Bell>& rig) {
    std::lock_guard<std::mutex> lock(rig.reset_mu);
    std::array<uint64_t, ioreq::kIoRequestMax> hits;
    for (size_t i = 0; i < hits.size(); ++i) {
      hits[i] = rig.marks[i].garbage.load(std::memory_order_seq_cst);
    }
    rig.clear_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd: resetting
    absl::Status reset = hsm->ResetVm(rig.vmid);
    if (reset.ok()) {
      for (size_t i = 0; i < hits.size(); ++i) {
        rig.marks[i].clean.store(hits[i], std::memory_order_seq_cst);
      }
      resets.fetch_add(1, std::memory_order_relaxed);
    } else {
      reset_failures.fetch_add(1, std::memory_order_relaxed);
    }
    rig.clear_epoch.fetch_add(1, std::memory_order_seq_cst);  // even: done
    return reset;
  }

  // An MMIO BAR client's handler, which stalls now and then.
  ioreq::IoHandler BarHandler(VmRig<Bell>* rig, size_t bar) {
    return [this, rig, handler = rig->bars[bar]->Handler(),
            base = rig->bars[bar]->base()](ioreq::IoRequest& req) {
      if (on(Fault::kStall) &&
          OneIn(handler_calls, config.faults.stall_every)) {
        const uint64_t offset = ioreq::DecodeAccess(req).address - base;
        const size_t vcpu = (offset / kVcpuWindow) % ioreq::kIoRequestMax;
        rig->marks[vcpu].stall.fetch_add(1, std::memory_order_seq_cst);
        Injected(Fault::kStall);
        absl::SleepFor(config.faults.stall);
      }
      return handler(req);
    };
  }
};

// Stands between the HSM and the hypervisor: loses one completion
// notification in N when the drop fault is on.
template <typename Bell>
class LossyHypervisorCalls : public ioreq::HypervisorCalls {
 public:
  explicit LossyHypervisorCalls(Harness<Bell>* h) : h_(h) {}
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override {
    if (h_->on(Fault::kDrop) && vmid < h_->rigs.size() &&
        vcpu < ioreq::kIoRequestMax &&
        Harness<Bell>::OneIn(h_->notifications, h_->config.faults.drop_every)) {
      h_->rigs[vmid]->marks[vcpu].drop.fetch_add(1, std::memory_order_seq_cst);
      h_->Injected(Fault::kDrop);
      return absl::OkStatus();  // lost on the way
    }
    return h_->hv.NotifyRequestFinish(vmid, vcpu);
  }
  absl::Status PauseVm(uint16_t vmid) override { return h_->hv.PauseVm(vmid); }
  absl::Status ResetVm(uint16_t vmid) override { return h_->hv.ResetVm(vmid); }
  absl::Status ResumeVm(uint16_t vmid) override { return h_->hv.ResumeVm(vmid); }

 private:
  Harness<Bell>* const h_;
};

// Which faults' counters a request saw move.
struct Marks {
  uint64_t garbage = 0, clean = 0, stall = 0, drop = 0, clear = 0,
           destroy = 0, pause = 0;
};

// How an issued request ended, for the access that issued it.
struct Completion {
  enum End {
    kCompleted,  // completed; `value` holds a read's value
    kNoValue,    // garbage wedged or refused it; the VM was reset
    kStop,       // lost: the vCPU is stuck and stops
  } end = kCompleted;
  uint32_t touched = 0;  // FaultBit()s of the faults that touched it
  uint64_t value = 0;
  bool verifiable() const {
    return end == kCompleted && (touched & kRelaxingFaults) == 0;
  }
};

// One vCPU thread's load and what it found.
template <typename Bell>
class VcpuLoad {
 public:
  VcpuLoad(Harness<Bell>* h, VmRig<Bell>* vm, uint32_t vcpu, uint64_t quota,
           Heartbeat* heartbeat)
      : h_(h), hv_(&h->hv), vm_(vm), vcpu_(vcpu), config_(h->config),
        quota_(quota), heartbeat_(heartbeat),
        rng_(config_.seed * 0x9E3779B97F4A7C15ull + vm->vmid * 64 + vcpu),
        shadow_(static_cast<size_t>(config_.clients)),
        known_(static_cast<size_t>(config_.clients)) {
    for (auto& k : known_) k.fill(true);  // the BARs start zeroed, as known
  }

  void Run(absl::Time deadline);

  LatencyHistogram histogram;
  // Read by the progress thread while the load runs.
  std::atomic<uint64_t> issued{0}, completed{0}, lost{0}, wrong{0};
  uint64_t taken = 0;  // completions this vCPU took from its slot
  uint64_t changed_by_garbage = 0;
  FaultTallies tallies{};
  std::vector<std::string> problems;

 private:
  // One trapped access, with the faults around it accounted.
  Completion Issue(const ioreq::IoAccess& access);
  // Settles a completed read against what the device must have answered
  // (nullopt: not known, e.g. after a fault lost a write).
  void SettleRead(const char* what, const Completion& c,
                  std::optional<uint64_t> want, uint64_t size);
  void SettleWrite(const Completion& c);
  Marks Snapshot(bool bar_access) const;
  uint32_t Touched(const Marks& before, const Marks& after) const;
  void Recover(bool abandon);
  void Problem(std::string text) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(text));
  }
  uint64_t Size() { return uint64_t{1} << (rng_() % 4); }

  bool MmioWrite();
  bool MmioRead();
  bool UartStatus();
  bool UartTransmit();
  bool PciIdRead();
  bool PciScratch();
  bool PciDisabled();
  bool DoorbellWrite();
  bool DoorbellRead();
  bool Unclaimed();

  Harness<Bell>* const h_;
  ioreq::BasicHypervisor<Bell>* const hv_;
  VmRig<Bell>* const vm_;
  const uint32_t vcpu_;
  const StressConfig& config_;
  const uint64_t quota_;
  Heartbeat* const heartbeat_;
  std::mt19937_64 rng_;
  std::vector<std::array<uint8_t, kShadowBytes>> shadow_;  // per BAR
  std::vector<std::array<bool, kShadowBytes>> known_;      // shadow is true
  uint32_t scratch_ = 0;       // this vCPU's PCI scratch register
  bool scratch_known_ = true;  // ... unless a fault touched its last write
  absl::Time load_start_;
};

template <typename Bell>
Marks VcpuLoad<Bell>::Snapshot(bool bar_access) const {
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

template <typename Bell>
uint32_t VcpuLoad<Bell>::Touched(const Marks& b, const Marks& a) const {
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

template <typename Bell>
void VcpuLoad<Bell>::Recover(bool abandon) {
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

template <typename Bell>
Completion VcpuLoad<Bell>::Issue(const ioreq::IoAccess& access) {
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

template <typename Bell>
void VcpuLoad<Bell>::SettleRead(const char* what, const Completion& c,
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

template <typename Bell>
void VcpuLoad<Bell>::SettleWrite(const Completion& c) {
  if (c.end != Completion::kCompleted) return;
  for (Fault f : kAllFaults) {
    if (c.touched & FaultBit(f)) ++tallies[static_cast<int>(f)].completed;
  }
}

template <typename Bell>
bool VcpuLoad<Bell>::MmioWrite() {
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

template <typename Bell>
bool VcpuLoad<Bell>::MmioRead() {
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

template <typename Bell>
bool VcpuLoad<Bell>::UartStatus() {
  const Completion c = Issue(ioreq::PortRead(kUartBase + 5, 1));
  if (c.end == Completion::kStop) return false;
  SettleRead("UART LSR", c,
             ioreq::Uart16550::kLsrThrEmpty | ioreq::Uart16550::kLsrTxEmpty, 1);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::UartTransmit() {
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

template <typename Bell>
bool VcpuLoad<Bell>::PciIdRead() {
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

template <typename Bell>
bool VcpuLoad<Bell>::PciScratch() {
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

template <typename Bell>
bool VcpuLoad<Bell>::PciDisabled() {
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

template <typename Bell>
bool VcpuLoad<Bell>::DoorbellWrite() {
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

template <typename Bell>
bool VcpuLoad<Bell>::DoorbellRead() {
  const Completion c = Issue(ioreq::MmioRead(kDoorbell, 4));
  if (c.end == Completion::kStop) return false;
  SettleRead("ioeventfd", c, 0, 4);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::Unclaimed() {
  const Completion c = Issue(ioreq::PortRead(kUnclaimedPort, 1));
  if (c.end == Completion::kStop) return false;
  SettleRead("unclaimed port", c, 0xFF, 1);
  return true;
}

template <typename Bell>
void VcpuLoad<Bell>::Run(absl::Time deadline) {
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

std::string Join(const std::vector<std::string>& items) {
  return absl::StrJoin(items, ", ");
}

template <typename Bell>
absl::StatusOr<StressResult> RunStressWith(const StressConfig& config,
                                           ioreq::Topology topology);

}  // namespace

const std::vector<std::string>& StressStrategies() {
  return ioreq::StrategyNames();
}

absl::Status ValidateStressConfig(const StressConfig& c) {
  auto bad = [](const char* flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: accepts %s", flag, value, what));
  };
  bool known = false;
  for (const std::string& s : StressStrategies()) known |= s == c.strategy;
  if (!known) {
    return bad("strategy", c.strategy,
               absl::StrCat("one of: ", Join(StressStrategies())).c_str());
  }
  if (!ioreq::ParseTopology(c.topology).ok()) {
    return bad("topology", c.topology, "one of: kernel, direct");
  }
  if (c.vms < 1 || c.vms > 64) return bad("vms", absl::StrCat(c.vms), "1 to 64");
  if (c.vcpus < 1 || c.vcpus > ioreq::kIoRequestMax) {
    return bad("vcpus", absl::StrCat(c.vcpus), "1 to 16");
  }
  if (c.clients < 1 || c.clients > 64) {
    return bad("clients", absl::StrCat(c.clients), "1 to 64");
  }
  if (c.requests < 1) {
    return bad("requests", absl::StrCat(c.requests), "a count of 1 or more");
  }
  if (!(c.seconds >= 0 && c.seconds <= 86400)) {
    return bad("seconds", absl::StrCat(c.seconds), "0 to 86400 (0: use --requests)");
  }
  if (!(c.offered_rate_per_vcpu >= 0 && c.offered_rate_per_vcpu <= 1e7)) {
    return bad("rate", absl::StrCat(c.offered_rate_per_vcpu),
               "requests per second per vCPU, 0 (closed loop) to 1e7");
  }
  if (c.completion_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("completion timeout must be positive");
  }
  if (!(c.progress_s >= 0 && c.progress_s <= 3600)) {
    return bad("progress_s", absl::StrCat(c.progress_s),
               "0 (no progress lines) to 3600 seconds");
  }
  return ValidateFaultConfig(c.faults);
}

absl::StatusOr<StressResult> RunStress(const StressConfig& config) {
  if (absl::Status valid = ValidateStressConfig(config); !valid.ok()) {
    return valid;
  }
  const ioreq::Strategy strategy = *ioreq::ParseStrategy(config.strategy);
  if (absl::Status s = ioreq::CheckStrategySupported(strategy); !s.ok()) {
    return s;
  }
  const ioreq::Topology topology = *ioreq::ParseTopology(config.topology);
  return ioreq::WithStrategy(strategy, [&](auto tag) {
    return RunStressWith<typename decltype(tag)::type>(config, topology);
  });
}

namespace {

// The fault threads: each runs until `stop` and bumps its marks before it
// acts (see VmRig::SlotMarks).
template <typename Bell>
void GarbageThread(Harness<Bell>& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0x6A7BA6E);
  const double per_ms = h.config.faults.garbage_per_s / 1000.0;
  double owed = 0;
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between garbage writes");
    absl::SleepFor(absl::Milliseconds(1));
    for (owed += per_ms; owed >= 1; owed -= 1) {
      // With two VMs or more, VM 0 is the control: garbage never reaches it,
      // so its requests keep the strict oracle (exactly once, values) and
      // prove one VM's hostile hypervisor page does not hurt another VM.
      const size_t first = h.rigs.size() > 1 ? 1 : 0;
      VmRig<Bell>& rig = *h.rigs[first + rng() % (h.rigs.size() - first)];
      const size_t slot = rng() % h.config.vcpus;
      // One write in four goes to the state word, the rest anywhere.
      const size_t offset = rng() % 4 == 0 ? kStateOffset + rng() % 4
                                           : rng() % sizeof(ioreq::IoRequest);
      const uint8_t byte = static_cast<uint8_t>(rng());
      hb.Beat("writing garbage (waits for a VM reset)");
      std::lock_guard<std::mutex> lock(rig.reset_mu);
      // Counted before the write: a request that sees the count unchanged
      // after it completes was not touched.
      rig.marks[slot].garbage.fetch_add(1, std::memory_order_seq_cst);
      auto* bytes = reinterpret_cast<uint8_t*>(
          &h.hv.shared_page(rig.vmid)->slots[slot]);
      // Relaxed atomic byte store: a hostile hypervisor races on purpose.
      __atomic_store_n(&bytes[offset], byte, __ATOMIC_RELAXED);
      h.Injected(Fault::kGarbage);
    }
  }
}

template <typename Bell>
void DestroyThread(Harness<Bell>& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0xDE57);
  uint64_t next = static_cast<uint64_t>(h.config.faults.destroy_every);
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("waiting for the next destroy");
    if (h.issued.load(std::memory_order_relaxed) < next) {
      absl::SleepFor(absl::Milliseconds(1));
      continue;
    }
    next += static_cast<uint64_t>(h.config.faults.destroy_every);
    VmRig<Bell>& rig = *h.rigs[rng() % h.rigs.size()];
    const size_t bar = rng() % rig.bar_ids.size();
    hb.Beat("destroying and re-creating a BAR client");
    rig.destroy_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd
    h.Injected(Fault::kDestroy);
    absl::Status s = h.hsm->DestroyClient(rig.bar_ids[bar]);
    absl::StatusOr<ioreq::ClientId> id =
        s.ok() ? h.hsm->CreateClient(rig.vmid, absl::StrCat("bar", bar),
                                    h.BarHandler(&rig, bar), false)
               : absl::StatusOr<ioreq::ClientId>(s);
    if (id.ok()) {
      s = h.hsm->AddRange(*id, ioreq::kTypeMmio, rig.bars[bar]->base(),
                         rig.bars[bar]->last());
    }
    if (!id.ok() || !s.ok()) {
      // The epoch stays odd: every BAR access of this VM is now unchecked.
      h.FaultError(absl::StrFormat("VM %u: re-creating BAR client %u: %s",
                                   rig.vmid, bar,
                                   (id.ok() ? s : id.status()).ToString()));
      return;
    }
    rig.bar_ids[bar] = *id;
    rig.destroy_epoch.fetch_add(1, std::memory_order_seq_cst);  // even
  }
}

template <typename Bell>
void ClearThread(Harness<Bell>& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0xC1EA);
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between clears");
    absl::SleepFor(h.config.faults.clear_every);
    if (stop.load(std::memory_order_acquire)) break;
    VmRig<Bell>& rig = *h.rigs[rng() % h.rigs.size()];
    hb.Beat("resetting a VM (pause, clear, reset, resume)");
    h.Injected(Fault::kClear);
    // A failure (a vCPU still waited) is counted; the next clear retries.
    h.ResetVmCleanly(rig).IgnoreError();
  }
}

template <typename Bell>
void PauseThread(Harness<Bell>& h, Heartbeat& hb, std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between pauses");
    absl::SleepFor(h.config.faults.pause_every);
    hb.Beat("pausing the dispatcher");
    h.pause_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd
    h.Injected(Fault::kPause);
    h.hsm->Pause();
    absl::SleepFor(h.config.faults.pause_for);
    h.hsm->Resume();
    h.pause_epoch.fetch_add(1, std::memory_order_seq_cst);  // even
  }
}

std::string SlotStates(const ioreq::SharedPage* page, int vcpus) {
  std::vector<std::string> states;
  for (int i = 0; i < vcpus; ++i) {
    states.push_back(absl::StrCat(
        i, " ", ioreq::StateName(ioreq::LoadStateAcquire(page->slots[i]))));
  }
  return absl::StrJoin(states, ", ");
}

template <typename Bell>
absl::StatusOr<StressResult> RunStressWith(const StressConfig& config,
                                           ioreq::Topology topology) {
  // Declared in this order so that the HSM goes first, then the hypervisor,
  // then the devices its clients call.
  std::vector<std::unique_ptr<VmRig<Bell>>> rigs;
  const absl::Duration rescan =
      config.rescan ? absl::Milliseconds(20) : absl::InfiniteDuration();
  ioreq::BasicHypervisor<Bell> hv(rescan);
  Harness<Bell> h(config, hv, rigs);
  // The HSM reaches the hypervisor through the lossy calls (drop fault).
  LossyHypervisorCalls<Bell> calls(&h);
  ioreq::HsmOptions options;
  options.topology = topology;
  options.rescan_interval = rescan;
  ioreq::BasicHsm<Bell> hsm(&calls, options);
  h.hsm = &hsm;
  hv.SetUpcallHandler([&h](uint16_t vmid, uint32_t vcpu) {
    if (h.on(Fault::kDrop) && vmid < h.rigs.size() &&
        vcpu < ioreq::kIoRequestMax &&
        Harness<Bell>::OneIn(h.upcalls, h.config.faults.drop_every)) {
      h.rigs[vmid]->marks[vcpu].drop.fetch_add(1, std::memory_order_seq_cst);
      h.Injected(Fault::kDrop);
      return;  // the upcall is lost
    }
    h.hsm->Upcall(vmid, vcpu);
  });

  for (int v = 0; v < config.vms; ++v) {
    auto rig = std::make_unique<VmRig<Bell>>();
    absl::StatusOr<uint16_t> vmid = hv.CreateVm(config.vcpus);
    if (!vmid.ok()) return vmid.status();
    rig->vmid = *vmid;
    if (rig->vmid != rigs.size()) {
      return absl::InternalError("VM ids are expected to be 0, 1, 2, ...");
    }
    absl::Status s = hsm.CreateVm(rig->vmid, config.vcpus);
    if (s.ok()) s = hsm.SetIoreqBuffer(rig->vmid, hv.shared_page(rig->vmid));
    if (!s.ok()) return s;

    absl::StatusOr<ioreq::ClientId> uart =
        hsm.CreateClient(rig->vmid, "uart", rig->uart.Handler(), false);
    if (!uart.ok()) return uart.status();
    s = hsm.AddRange(*uart, ioreq::kTypePortIo, rig->uart.base(),
                     rig->uart.last());
    if (!s.ok()) return s;
    for (int b = 0; b < config.clients; ++b) {
      rig->bars.push_back(
          std::make_unique<ioreq::MmioBar>(kBarBase + b * kBarSize, kBarSize));
      absl::StatusOr<ioreq::ClientId> bar = hsm.CreateClient(
          rig->vmid, absl::StrCat("bar", b), h.BarHandler(rig.get(), b), false);
      if (!bar.ok()) return bar.status();
      rig->bar_ids.push_back(*bar);
      s = hsm.AddRange(*bar, ioreq::kTypeMmio, rig->bars.back()->base(),
                       rig->bars.back()->last());
      if (!s.ok()) return s;
    }
    rig->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (rig->doorbell_fd < 0) return absl::InternalError("eventfd() failed");
    ioreq::IoeventfdArgs doorbell{};
    doorbell.fd = static_cast<uint32_t>(rig->doorbell_fd);
    doorbell.addr = kDoorbell;
    doorbell.len = 4;
    s = hsm.Ioeventfd(rig->vmid, doorbell);
    if (!s.ok()) return s;
    rig->pci.AddStandardDevices();
    rig->device_model = std::make_unique<ioreq::BasicDeviceModelThread<Bell>>(
        &hsm, rig->vmid, rig->pci.DefaultDeviceModel());
    s = rig->device_model->Start();
    if (!s.ok()) return s;
    rigs.push_back(std::move(rig));
  }

  const uint64_t total_vcpus = static_cast<uint64_t>(config.vms) * config.vcpus;
  const uint64_t share = static_cast<uint64_t>(config.requests) / total_vcpus;
  const uint64_t extra = static_cast<uint64_t>(config.requests) % total_vcpus;
  std::deque<Heartbeat> heartbeats;  // stable addresses
  std::vector<std::unique_ptr<VcpuLoad<Bell>>> loads;
  for (auto& rig : rigs) {
    for (int v = 0; v < config.vcpus; ++v) {
      const uint64_t quota = share + (loads.size() < extra ? 1 : 0);
      heartbeats.emplace_back(absl::StrFormat("vCPU %u.%d", rig->vmid, v));
      loads.push_back(std::make_unique<VcpuLoad<Bell>>(
          &h, rig.get(), v, quota, &heartbeats.back()));
    }
  }

  const double cpu_start = CpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time deadline =
      start + absl::Microseconds(static_cast<int64_t>(config.seconds * 1e6));
  std::vector<std::thread> threads;
  for (auto& load : loads) {
    threads.emplace_back([&load, deadline] { load->Run(deadline); });
  }
  std::atomic<bool> load_done{false};
  std::vector<std::thread> helpers;
  auto helper = [&](const char* name, auto body) {
    heartbeats.emplace_back(name);
    Heartbeat* hb = &heartbeats.back();
    helpers.emplace_back([&h, hb, &load_done, body] {
      body(h, *hb, load_done);
      hb->finished.store(true, std::memory_order_relaxed);
    });
  };
  if (config.spurious_wakeups) {
    helper("spurious wake-ups", [](Harness<Bell>& h, Heartbeat& hb,
                                   std::atomic<bool>& stop) {
      std::mt19937_64 rng(h.config.seed);
      // Pairs with the release store after the vCPU threads are joined.
      while (!stop.load(std::memory_order_acquire)) {
        hb.Beat("ringing for nothing");
        for (auto& rig : h.rigs) {
          h.hsm->Upcall(rig->vmid);
          h.hv.NotifyRequestFinish(rig->vmid, rng() % h.config.vcpus)
              .IgnoreError();
        }
        absl::SleepFor(absl::Microseconds(200));
      }
    });
  }
  if (h.on(Fault::kGarbage)) helper("garbage writer", GarbageThread<Bell>);
  if (h.on(Fault::kDestroy)) helper("client destroyer", DestroyThread<Bell>);
  if (h.on(Fault::kClear)) helper("VM clearer", ClearThread<Bell>);
  if (h.on(Fault::kPause)) helper("dispatcher pauser", PauseThread<Bell>);

  // The watchdog: a thread that made no progress for hang_bound is hung.
  // It says which and where, with the slot states, and ends the process.
  const absl::Duration hang_bound =
      config.hang_bound > absl::ZeroDuration()
          ? config.hang_bound
          : 2 * config.completion_timeout + absl::Seconds(10);
  std::atomic<bool> all_done{false};
  std::thread watchdog([&] {
    while (!all_done.load(std::memory_order_acquire)) {
      absl::SleepFor(absl::Milliseconds(100));
      const int64_t now = absl::GetCurrentTimeNanos();
      for (const Heartbeat& hb : heartbeats) {
        if (hb.finished.load(std::memory_order_relaxed)) continue;
        const int64_t idle = now - hb.last_ns.load(std::memory_order_relaxed);
        if (idle < absl::ToInt64Nanoseconds(hang_bound)) continue;
        std::string report = absl::StrFormat(
            "stress: watchdog: thread '%s' made no progress for %.1f s, in %s",
            hb.name, idle / 1e9, hb.where.load(std::memory_order_relaxed));
        for (const auto& rig : rigs) {
          absl::StrAppendFormat(&report, "; VM %u slots: %s", rig->vmid,
                                SlotStates(hv.shared_page(rig->vmid), config.vcpus));
        }
        std::fprintf(stderr, "%s\n", report.c_str());
        std::fflush(stderr);
        _exit(kExitProblem);
      }
    }
  });

  // Progress: one line to stderr every progress_s.
  std::thread progress;
  std::mutex progress_mu;
  std::condition_variable progress_cv;
  if (config.progress_s > 0) {
    progress = std::thread([&] {
      const absl::Duration every =
          absl::Milliseconds(static_cast<int64_t>(config.progress_s * 1000));
      uint64_t last_completed = 0;
      absl::Time last = absl::Now();
      std::unique_lock<std::mutex> lock(progress_mu);
      while (!progress_cv.wait_for(
          lock, absl::ToChronoMilliseconds(every),
          [&] { return all_done.load(std::memory_order_acquire); })) {
        uint64_t issued = 0, completed = 0, lost = 0, wrong = 0;
        for (const auto& load : loads) {
          issued += load->issued.load(std::memory_order_relaxed);
          completed += load->completed.load(std::memory_order_relaxed);
          lost += load->lost.load(std::memory_order_relaxed);
          wrong += load->wrong.load(std::memory_order_relaxed);
        }
        const absl::Time now = absl::Now();
        std::string line = absl::StrFormat(
            "[%7.1f s] issued %u, completed %u, lost %u, wrong %u; %.0f req/s",
            absl::ToDoubleSeconds(now - start), issued, completed, lost, wrong,
            (completed - last_completed) / absl::ToDoubleSeconds(now - last));
        last_completed = completed;
        last = now;
        if (config.faults.any()) {
          absl::StrAppend(&line, "; injected");
          for (Fault f : kAllFaults) {
            if (!h.on(f)) continue;
            absl::StrAppendFormat(
                &line, " %s %u", FaultName(f),
                h.injected[static_cast<int>(f)].load(std::memory_order_relaxed));
          }
          absl::StrAppendFormat(&line, "; VM resets %u",
                                h.resets.load(std::memory_order_relaxed));
        }
        std::fprintf(stderr, "%s\n", line.c_str());
      }
    });
  }

  for (auto& t : threads) t.join();
  // Pairs with the acquire loads in the helper threads' loops.
  load_done.store(true, std::memory_order_release);
  for (auto& t : helpers) t.join();
  {
    std::lock_guard<std::mutex> lock(progress_mu);
    // Pairs with the acquire loads in the watchdog and progress threads.
    all_done.store(true, std::memory_order_release);
  }
  progress_cv.notify_all();
  if (progress.joinable()) progress.join();
  watchdog.join();

  StressResult result;
  result.elapsed_s = absl::ToDoubleSeconds(absl::Now() - start);
  result.cpu_s = CpuSeconds() - cpu_start;

  for (const auto& load : loads) {
    result.issued += load->issued.load();
    result.completed += load->completed.load();
    result.lost += load->lost.load();
    result.wrong_value += load->wrong.load();
    result.changed_by_garbage += load->changed_by_garbage;
    result.round_trip_ns.Merge(load->histogram);
    for (int f = 0; f < kFaultCount; ++f) result.faults[f].Merge(load->tallies[f]);
    for (const std::string& p : load->problems) {
      if (result.problems.size() < kMaxProblems) result.problems.push_back(p);
    }
  }
  for (int f = 0; f < kFaultCount; ++f) {
    result.faults[f].injected = h.injected[f].load();
  }
  result.vm_resets = h.resets.load();
  result.vm_reset_failures = h.reset_failures.load();
  for (const std::string& e : h.fault_errors) {
    ++result.fault_errors;
    result.problems.push_back(e);
  }

  // Writes must have reached their devices: exactly, or, where a fault
  // touched some, between the certain and the possible count. Garbage may
  // forge writes to any device: then nothing is checked.
  for (auto& rig : rigs) {
    rig->device_model->Stop();
    uint64_t signals = 0;
    if (read(rig->doorbell_fd, &signals, sizeof(signals)) != sizeof(signals)) {
      signals = 0;
    }
    if (h.GarbageReaches(rig->vmid)) continue;
    const uint64_t sent = rig->thr_bytes.load();
    const uint64_t maybe = rig->uncertain_bytes.load();
    const uint64_t got = rig->uart.tx_bytes();
    if (got < sent || got > sent + maybe ||
        (maybe == 0 && rig->uart.tx_sum() != rig->thr_sum.load())) {
      result.undelivered_writes += got < sent ? sent - got : got - sent;
      result.problems.push_back(absl::StrFormat(
          "VM %u: UART got %u bytes, vCPUs sent %u (and %u a fault touched)",
          rig->vmid, got, sent, maybe));
    }
    const uint64_t kicks = rig->doorbell_writes.load();
    const uint64_t maybe_kicks = rig->uncertain_kicks.load();
    if (signals < kicks || signals > kicks + maybe_kicks) {
      result.undelivered_writes +=
          signals > kicks ? signals - kicks : kicks - signals;
      result.problems.push_back(absl::StrFormat(
          "VM %u: eventfd counted %u signals, vCPUs wrote the doorbell %u "
          "times (and %u a fault touched)",
          rig->vmid, signals, kicks, maybe_kicks));
    }
  }

  result.hsm = hsm.stats();
  result.hypervisor = hv.stats();
  result.syscalls = hsm.syscalls() + hv.syscalls();
  // Exactly once, per slot: the HSM published COMPLETE into a slot as often
  // as its vCPU took a completion from it. Slots garbage reached are left
  // out (a forged request completes too), and so are the slots of vCPUs
  // that lost a request (its late completion is not a duplicate).
  size_t index = 0;
  for (auto& rig : rigs) {
    absl::StatusOr<std::array<uint64_t, ioreq::kIoRequestMax>> counts =
        hsm.SlotCompletions(rig->vmid);
    if (!counts.ok()) return counts.status();
    for (int v = 0; v < config.vcpus; ++v, ++index) {
      const VcpuLoad<Bell>& load = *loads[index];
      if (rig->marks[v].garbage.load() != 0) {
        ++result.slots_tainted;
        continue;
      }
      if (load.lost.load() != 0) continue;
      ++result.slots_checked_exactly_once;
      if ((*counts)[v] != load.taken) {
        const uint64_t diff = (*counts)[v] > load.taken ? (*counts)[v] - load.taken
                                                        : load.taken - (*counts)[v];
        result.duplicated += diff;
        result.problems.push_back(absl::StrFormat(
            "VM %u vCPU %d: the HSM completed its slot %u times, the vCPU "
            "took %u completions", rig->vmid, v, (*counts)[v], load.taken));
      }
    }
  }
  // A refused completion is the model stopping a second completion. Faults
  // that complete requests behind their clients' backs (clear, destroy,
  // garbage) make clients try, legitimately; without them there is none.
  if ((config.faults.enabled & kRelaxingFaults) == 0 &&
      result.hsm.spurious_completions > 0) {
    result.duplicated += result.hsm.spurious_completions;
    result.problems.push_back(absl::StrFormat(
        "%u completions refused as spurious with no fault that explains them",
        result.hsm.spurious_completions));
  }
  return result;
}

}  // namespace

namespace {

// The "faults" member and its companions, with a trailing ", "; empty when
// no fault was on.
std::string FaultsJson(const StressConfig& c, const StressResult& r) {
  if (!c.faults.any()) return "";
  std::vector<std::string> faults;
  for (Fault f : kAllFaults) {
    if (!c.faults.on(f)) continue;
    const FaultTally& t = r.faults[static_cast<int>(f)];
    faults.push_back(absl::StrFormat(
        "\"%s\": {\"injected\": %u, \"touched\": %u, \"completed\": %u, "
        "\"other_value\": %u, \"all_ones\": %u, \"gave_up\": %u, "
        "\"insert_refused\": %u}",
        FaultName(f), t.injected, t.touched, t.completed, t.other_value,
        t.all_ones, t.gave_up, t.insert_refused));
  }
  return absl::StrFormat(
      "\"faults\": {%s}, \"vm_resets\": %u, \"vm_reset_failures\": %u, "
      "\"changed_by_garbage\": %u, \"slots_checked_exactly_once\": %d, "
      "\"slots_tainted\": %d, \"fault_errors\": %u, ",
      absl::StrJoin(faults, ", "), r.vm_resets, r.vm_reset_failures,
      r.changed_by_garbage, r.slots_checked_exactly_once, r.slots_tainted,
      r.fault_errors);
}

// What the model itself counted that bears on a fault.
std::string ModelCounts(Fault f, const StressResult& r) {
  const ioreq::HsmStats& h = r.hsm;
  switch (f) {
    case Fault::kGarbage:
      return absl::StrFormat(
          "%u rejected as invalid, %u ownership lost, %u stale completions "
          "refused, %u requests abandoned",
          h.rejected_invalid, h.ownership_lost, h.spurious_completions,
          r.hypervisor.abandoned);
    case Fault::kClear:
      return absl::StrFormat("%u completed by clear, %u forced by clear",
                             h.completed_while_clearing, h.forced_by_clear);
    case Fault::kDestroy:
      return absl::StrFormat(
          "%u handed over to the default client, %u answered all-ones",
          h.handed_over_on_destroy, h.completed_on_destroy);
    case Fault::kDrop:
      return absl::StrFormat(
          "%u found by the HSM's rescan, %u completions found by the vCPU's",
          h.rescued_by_rescan, r.hypervisor.rescued_by_rescan);
    case Fault::kStall:
    case Fault::kPause:
      return "";
  }
  return "";
}

}  // namespace

std::string StressJson(const StressConfig& c, const StressResult& r) {
  const ioreq::HsmStats& h = r.hsm;
  return absl::StrFormat(
      "{\"strategy\": \"%s\", \"topology\": \"%s\", \"vms\": %d, \"vcpus\": %d, \"clients\": %d, "
      "\"polling\": %s, \"seed\": %u, \"issued\": %u, \"completed\": %u, "
      "\"lost\": %u, \"duplicated\": %u, \"wrong_value\": %u, "
      "\"undelivered_writes\": %u, \"p50_ns\": %u, \"p99_ns\": %u, "
      "\"p999_ns\": %u, \"max_ns\": %u, \"requests_per_s\": %.1f, "
      "\"cpu_ns_per_request\": %.1f, \"syscalls_per_request\": %.3f, "
      "\"elapsed_s\": %.3f, "
      "\"hsm\": {\"dispatch_passes\": %u, \"dispatched\": %u, "
      "\"completed\": %u, \"cf8cfc_in_place\": %u, \"cf8cfc_converted\": %u, "
      "\"rejected_invalid\": %u, \"no_client\": %u, "
      "\"spurious_completions\": %u, \"handler_errors\": %u, "
      "\"rescans\": %u, \"rescued_by_rescan\": %u}, "
      "\"notifications\": %u, \"completions_rescued_by_rescan\": %u, "
      "%s\"ok\": %s}",
      c.strategy, c.topology, c.vms, c.vcpus, c.clients,
      c.polling ? "true" : "false",
      c.seed, r.issued, r.completed, r.lost, r.duplicated, r.wrong_value,
      r.undelivered_writes, r.round_trip_ns.Percentile(50),
      r.round_trip_ns.Percentile(99), r.round_trip_ns.Percentile(99.9),
      r.round_trip_ns.max(), r.requests_per_s(), r.cpu_ns_per_request(),
      r.syscalls_per_request(), r.elapsed_s, h.dispatch_passes, h.dispatched, h.completed,
      h.cf8cfc_in_place, h.cf8cfc_converted, h.rejected_invalid, h.no_client,
      h.spurious_completions, h.handler_errors, h.rescans,
      h.rescued_by_rescan, r.hypervisor.notifications,
      r.hypervisor.rescued_by_rescan, FaultsJson(c, r),
      r.clean() ? "true" : "false");
}

std::string StressText(const StressConfig& c, const StressResult& r) {
  std::string out = absl::StrFormat(
      "ioreq stress: strategy %s, topology %s, %d VM(s) x %d vCPU(s), "
      "%d BAR client(s), %s completion, seed %u\n",
      c.strategy, c.topology, c.vms, c.vcpus, c.clients,
      c.polling ? "polling" : "notified", c.seed);
  absl::StrAppendFormat(
      &out,
      "  requests   issued %u, completed %u, lost %u, duplicated %u, "
      "wrong value %u, undelivered writes %u\n",
      r.issued, r.completed, r.lost, r.duplicated, r.wrong_value,
      r.undelivered_writes);
  absl::StrAppendFormat(
      &out, "  round trip p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
      r.round_trip_ns.Percentile(50) / 1e3, r.round_trip_ns.Percentile(99) / 1e3,
      r.round_trip_ns.Percentile(99.9) / 1e3, r.round_trip_ns.max() / 1e3);
  absl::StrAppendFormat(
      &out,
      "  throughput %.0f requests/s over %.2f s; CPU %.0f ns/request; "
      "%.2f syscalls/request\n",
      r.requests_per_s(), r.elapsed_s, r.cpu_ns_per_request(),
      r.syscalls_per_request());
  absl::StrAppendFormat(
      &out,
      "  HSM        %u passes, %u dispatched, %u PCI cycles folded, %u "
      "completed in place\n",
      r.hsm.dispatch_passes, r.hsm.dispatched, r.hsm.cf8cfc_converted,
      r.hsm.cf8cfc_in_place);
  if (c.faults.any()) {
    for (Fault f : kAllFaults) {
      if (!c.faults.on(f)) continue;
      const FaultTally& t = r.faults[static_cast<int>(f)];
      absl::StrAppendFormat(
          &out,
          "  fault %-7s injected %u; touched %u requests: %u completed as "
          "the device says, %u with another value (%u all-ones), %u given up "
          "(wedged), %u refused (slot not FREE)\n",
          FaultName(f), t.injected, t.touched, t.completed, t.other_value,
          t.all_ones, t.gave_up, t.insert_refused);
      const std::string model = ModelCounts(f, r);
      if (!model.empty()) absl::StrAppend(&out, "                model: ", model, "\n");
    }
    absl::StrAppendFormat(
        &out,
        "  VM resets  %u (%u retried); exactly once checked on %d slot(s), "
        "%d reached by garbage%s\n",
        r.vm_resets, r.vm_reset_failures, r.slots_checked_exactly_once,
        r.slots_tainted,
        c.faults.on(Fault::kGarbage)
            ? absl::StrFormat("; %u reads changed while garbage ran",
                              r.changed_by_garbage)
            : "");
  }
  for (const std::string& p : r.problems) absl::StrAppend(&out, "  PROBLEM: ", p, "\n");
  absl::StrAppend(&out, r.clean() ? "  result     OK: every request completed "
                                    "exactly once with the right value\n"
                                  : "  result     FAILED\n");
  return out;
}

}  // namespace bench
