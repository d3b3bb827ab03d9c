#include "bench/internal/stress_run.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/internal/fault_threads.h"
#include "bench/internal/slot_balance.h"
#include "bench/internal/slot_states.h"
#include "core/abi/slot_state.h"
#include "guests/guest_abi.h"
#include "guests/guest_vm.h"

namespace bench {
namespace stress_internal {
namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

}  // namespace

std::unique_ptr<ioreq::Hypervisor> StressRun::MakeProducer(
    const StressConfig& config, absl::Duration rescan,
    ioreq::EmulatedHypervisor** requests, ioreq::KvmHypervisor** kvm) {
  if (config.hypervisor == Producer::kKvm) {
    ioreq::KvmHypervisorOptions options;
    options.strategy = config.strategy;
    options.completion_rescan = rescan;
    options.polling = config.polling;
    options.memory_bytes = GUEST_MEMORY_BYTES;
    options.report_port = GUEST_REPORT_PORT;
    options.vcpu_cpus = config.placement.vcpu_cpus;
    options.profile = config.profile;
    auto hv = std::make_unique<ioreq::KvmHypervisor>(options);
    *requests = &hv->requests();
    (*requests)->set_carry_wakes(config.carry_wakes);
    *kvm = hv.get();
    return hv;
  }
  auto hv = std::make_unique<ioreq::EmulatedHypervisor>(config.strategy, rescan,
                                                        config.profile);
  hv->set_carry_wakes(config.carry_wakes);
  *requests = hv.get();
  *kvm = nullptr;
  return hv;
}

absl::Status StressRun::Build() {
  hv_->SetUpcallHandler([this](uint16_t vmid, uint32_t vcpu) {
    if (h_.on(Fault::kDrop) && vmid < h_.rigs.size() &&
        vcpu < ioreq::kIoRequestMax &&
        RunState::OneIn(h_.upcalls, config_.faults.drop_every)) {
      h_.rigs[vmid]->marks[vcpu].drop.fetch_add(1, std::memory_order_seq_cst);
      h_.Injected(Fault::kDrop);
      return;  // the upcall is lost
    }
    hsm_.Upcall(vmid, vcpu);
  });
  for (int v = 0; v < config_.vms; ++v) {
    if (absl::Status s = BuildVm(); !s.ok()) return s;
  }
  watchdog_.SetDescriber([this] {
    std::vector<std::string> vms;
    for (const auto& rig : rigs_) {
      vms.push_back(absl::StrFormat(
          "VM %u slots: %s", rig->vmid,
          SlotStates(hsm_, hv_->shared_page(rig->vmid), rig->vmid,
                     config_.vcpus)));
    }
    return absl::StrJoin(vms, "; ");
  });

  const uint64_t total_vcpus =
      static_cast<uint64_t>(config_.vms) * config_.vcpus;
  const uint64_t share = static_cast<uint64_t>(config_.requests) / total_vcpus;
  const uint64_t extra = static_cast<uint64_t>(config_.requests) % total_vcpus;
  for (auto& rig : rigs_) {
    for (int v = 0; v < config_.vcpus; ++v) {
      const uint64_t quota = share + (loads_.size() < extra ? 1 : 0);
      Heartbeat* hb =
          watchdog_.Add(absl::StrFormat("vCPU %u.%d", rig->vmid, v));
      loads_.push_back(
          std::make_unique<VcpuLoad>(&h_, rig.get(), v, quota, hb));
    }
  }
  return kvm_ != nullptr ? PrepareGuests() : absl::OkStatus();
}

absl::Status StressRun::PrepareGuests() {
  const uint64_t total_vcpus =
      static_cast<uint64_t>(config_.vms) * config_.vcpus;
  // The guest's mix takes a configuration cycle's requests together, so
  // each vCPU gets an equal share, rounded up.
  const uint64_t share =
      (static_cast<uint64_t>(config_.requests) + total_vcpus - 1) / total_vcpus;
  for (auto& rig : rigs_) {
    guest_params params = ioreq::guests::EmptyParams(
        GUEST_PROGRAM_MIX, static_cast<uint32_t>(config_.vcpus));
    params.seed = static_cast<uint32_t>(config_.seed * 1000003u + rig->vmid);
    params.iterations = config_.seconds > 0
                            ? 0xFFFFFFFFu
                            : static_cast<uint32_t>(std::min<uint64_t>(
                                  share, 0xFFFFFFFFu));
    params.mix = GUEST_MIX_ALL;
    params.bar_base = static_cast<uint32_t>(kBarBase);
    params.bar_count = static_cast<uint32_t>(config_.clients);
    params.bar_size = static_cast<uint32_t>(kBarSize);
    params.bar_window = static_cast<uint32_t>(kVcpuWindow);
    params.uart_base = kUartBase;
    params.doorbell = static_cast<uint32_t>(kDoorbell);
    params.unclaimed_port = static_cast<uint32_t>(kUnclaimedPort);
    params.scratch_dev = kScratchDev;
    params.scratch_base = kScratchBase;
    if (absl::Status s =
            ioreq::guests::PrepareGuest(*kvm_->kvm_vm(rig->vmid), params);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void StressRun::RunGuests(absl::Time deadline) {
  for (auto& rig : rigs_) {
    const uint16_t vmid = rig->vmid;
    const size_t base = static_cast<size_t>(vmid) * config_.vcpus;
    volatile guest_params& params =
        ioreq::guests::ParamsOf(*kvm_->kvm_vm(vmid));
    absl::Status started = kvm_->Start(
        vmid, [this, vmid, base, &params](uint32_t vcpu, ioreq::IoAccess& access) {
          absl::Status s =
              loads_[base + vcpu]->Trapped(access, &params.relaxed[vcpu]);
          // A lost request stops its vCPU, perhaps inside a configuration
          // cycle with the guest's lock held: stop the VM's other vCPUs
          // too, or they would spin on that lock in the guest for ever.
          if (!s.ok()) kvm_->Kick(vmid);
          return s;
        });
    if (!started.ok()) {
      ++guest_errors_;
      guest_problems_.push_back(absl::StrFormat("VM %u: %s", vmid,
                                                started.ToString()));
    }
  }
  if (config_.seconds > 0) {
    absl::SleepFor(deadline - absl::Now());
    for (auto& rig : rigs_) {
      // The guest looks at `stop` before each access of its mix.
      ioreq::guests::ParamsOf(*kvm_->kvm_vm(rig->vmid)).stop = 1;
    }
  }
  for (auto& rig : rigs_) {
    const uint16_t vmid = rig->vmid;
    const std::vector<ioreq::KvmHypervisor::VcpuResult> results =
        kvm_->Join(vmid);
    bool vm_lost = false;  // a vCPU of this VM lost a request
    for (size_t v = 0; v < results.size(); ++v) {
      vm_lost |= loads_[static_cast<size_t>(vmid) * config_.vcpus + v]->lost.load(
                     std::memory_order_relaxed) > 0;
    }
    for (size_t v = 0; v < results.size(); ++v) {
      VcpuLoad& load = *loads_[static_cast<size_t>(vmid) * config_.vcpus + v];
      load.Finished();
      // What the guest counted so far holds even if it did not finish: it
      // counts each access after the access completes.
      const guest_report r =
          ioreq::guests::ReportOf(*kvm_->kvm_vm(vmid), static_cast<uint32_t>(v));
      rig->thr_bytes.fetch_add(r.thr_bytes, std::memory_order_relaxed);
      rig->thr_sum.fetch_add(r.thr_sum, std::memory_order_relaxed);
      rig->uncertain_bytes.fetch_add(r.thr_uncertain, std::memory_order_relaxed);
      rig->doorbell_writes.fetch_add(r.doorbell_writes, std::memory_order_relaxed);
      rig->uncertain_kicks.fetch_add(r.doorbell_uncertain,
                                     std::memory_order_relaxed);
      load.GuestFound(r.failures, r.message);
      const ioreq::KvmHypervisor::VcpuResult& result = results[v];
      std::string problem;
      if (!result.status.ok()) {
        // A lost request stops its vCPU and is counted as lost already; the
        // VM's other vCPUs were stopped because of it.
        const bool stopped_for_a_loss =
            vm_lost && result.status.code() == absl::StatusCode::kUnavailable;
        if (load.lost.load(std::memory_order_relaxed) == 0 && !stopped_for_a_loss) {
          problem = result.status.ToString();
        }
      } else if (!result.stats.reported) {
        problem = "the guest halted without reporting";
      } else if (r.accesses != result.stats.accesses) {
        problem = absl::StrFormat(
            "the guest made %u accesses, the host handled %u", r.accesses,
            result.stats.accesses);
      }
      if (!problem.empty()) {
        ++guest_errors_;
        guest_problems_.push_back(
            absl::StrFormat("VM %u vCPU %u: %s", vmid, v, problem));
      }
    }
  }
}

// A VM as the stress command lays it out (stress_workload.h).
absl::Status StressRun::BuildVm() {
  auto rig = std::make_unique<VmRig>(config_.profile);
  const bool acrn = config_.profile == ioreq::Profile::kAcrn;
  absl::StatusOr<uint16_t> vmid;
  if (acrn && kvm_ == nullptr) {
    // [acrn-polling] The VM, not the request, says how it completes.
    vmid = requests_->CreateVm(config_.vcpus, config_.polling);
    if (vmid.ok()) {
      if (absl::Status s = ioreq::WireVm(*hv_, hsm_, *vmid, config_.vcpus);
          !s.ok()) {
        return s;
      }
    }
  } else {
    vmid = ioreq::CreateWiredVm(*hv_, hsm_, config_.vcpus);
  }
  if (!vmid.ok()) return vmid.status();
  rig->vmid = *vmid;
  if (rig->vmid != rigs_.size()) {
    return absl::InternalError("VM ids are expected to be 0, 1, 2, ...");
  }
  absl::Status s;

  absl::StatusOr<ioreq::ClientId> uart =
      hsm_.CreateClient(rig->vmid, "uart", h_.UartHandler(rig.get()), false);
  if (!uart.ok()) return uart.status();
  s = hsm_.AddRange(*uart, ioreq::kTypePortIo, rig->uart.base(),
                    rig->uart.last());
  if (!s.ok()) return s;
  for (int b = 0; b < config_.clients; ++b) {
    rig->bars.push_back(
        std::make_unique<ioreq::MmioBar>(kBarBase + b * kBarSize, kBarSize));
    absl::StatusOr<ioreq::ClientId> bar = hsm_.CreateClient(
        rig->vmid, absl::StrCat("bar", b), h_.BarHandler(rig.get(), b), false);
    if (!bar.ok()) return bar.status();
    rig->bar_ids.push_back(*bar);
    s = hsm_.AddRange(*bar, ioreq::kTypeMmio, rig->bars.back()->base(),
                      rig->bars.back()->last());
    if (!s.ok()) return s;
  }
  rig->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (rig->doorbell_fd < 0) return absl::InternalError("eventfd() failed");
  if (config_.posted_doorbell) {
    ioreq::PostedArgs doorbell;  // [posted]
    doorbell.type = ioreq::kTypeMmio;
    doorbell.address = kDoorbell;
    doorbell.fd = static_cast<uint32_t>(rig->doorbell_fd);
    absl::StatusOr<uint64_t> cookie = hsm_.AssignPosted(rig->vmid, doorbell);
    if (!cookie.ok()) return cookie.status();
  } else {
    ioreq::IoeventfdArgs doorbell{};
    doorbell.fd = static_cast<uint32_t>(rig->doorbell_fd);
    doorbell.addr = kDoorbell;
    doorbell.len = 4;
    s = hsm_.Ioeventfd(rig->vmid, doorbell);
    if (!s.ok()) return s;
  }
  rig->pci.AddStandardDevices();
  if (acrn) {
    rig->acrn_device_model = std::make_unique<ioreq::AcrnDeviceModelThread>(
        &hsm_, rig->vmid, hv_->shared_page(rig->vmid),
        static_cast<uint32_t>(config_.vcpus), rig->pci.DefaultDeviceModel(),
        config_.placement.hsm_cpus);
    s = rig->acrn_device_model->Start();
  } else {
    rig->device_model = std::make_unique<ioreq::DeviceModelThread>(
        &hsm_, rig->vmid, rig->pci.DefaultDeviceModel(),
        config_.placement.hsm_cpus);
    s = rig->device_model->Start();
  }
  if (!s.ok()) return s;
  rigs_.push_back(std::move(rig));
  return absl::OkStatus();
}

void StressRun::StartHelper(
    const char* name, void (*body)(RunState&, Heartbeat&, std::atomic<bool>&)) {
  Heartbeat* hb = watchdog_.Add(name);
  helpers_.emplace_back([this, hb, body] {
    body(h_, *hb, load_done_);
    hb->finished.store(true, std::memory_order_relaxed);
  });
}

namespace {

// Rings for nothing: every waiter must tolerate waking without work.
void SpuriousWakeups(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
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
}

// --plant=stray_finish: a device model's thread that sends the finish
// ioctl for requests it does not hold. The HSM must refuse each (a
// completion only the holder may make), and the oracle must report the
// refusals, which no fault explains.
void StrayFinishes(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
  uint32_t vcpu = 0;
  // Pairs with the release store after the vCPU threads are joined.
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("finishing requests it does not hold (--plant)");
    for (auto& rig : h.rigs) {
      h.hsm->NotifyRequestFinish(rig->vmid, vcpu % h.config.vcpus).IgnoreError();
      h.planted.fetch_add(1, std::memory_order_relaxed);
    }
    ++vcpu;
    absl::SleepFor(absl::Microseconds(500));
  }
}

}  // namespace

void StressRun::Run() {
  cpu_start_ = CpuSeconds();
  start_ = absl::Now();
  const absl::Time deadline =
      start_ + absl::Microseconds(static_cast<int64_t>(config_.seconds * 1e6));
  std::vector<std::thread> vcpus;
  if (kvm_ == nullptr) {
    for (auto& load : loads_) {
      vcpus.emplace_back([&load, deadline, this] {
        if (config_.placement.pinned()) {
          ioreq::PinCurrentThread(config_.placement.vcpu_cpus).IgnoreError();
        }
        load->Run(deadline);
      });
    }
  }
  if (config_.spurious_wakeups) StartHelper("spurious wake-ups", SpuriousWakeups);
  if (h_.on(Fault::kGarbage)) StartHelper("garbage writer", GarbageThread);
  if (h_.on(Fault::kDestroy)) StartHelper("client destroyer", DestroyThread);
  if (h_.on(Fault::kClear)) StartHelper("VM clearer", ClearThread);
  if (h_.on(Fault::kPause)) StartHelper("dispatcher pauser", PauseThread);
  if (config_.planted_bug == PlantedBug::kStrayFinish) {
    StartHelper("stray finisher (--plant)", StrayFinishes);
  }
  std::thread progress;
  if (config_.progress_s > 0) progress = std::thread([this] { ProgressLoop(); });

  if (kvm_ != nullptr) RunGuests(deadline);
  for (auto& t : vcpus) t.join();
  // Pairs with the acquire loads in the helper threads' loops.
  load_done_.store(true, std::memory_order_release);
  for (auto& t : helpers_) t.join();
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    progress_done_ = true;
  }
  progress_cv_.notify_all();
  if (progress.joinable()) progress.join();
  elapsed_s_ = absl::ToDoubleSeconds(absl::Now() - start_);
  cpu_s_ = CpuSeconds() - cpu_start_;
}

// Progress: one line to stderr every progress_s.
void StressRun::ProgressLoop() {
  const absl::Duration every =
      absl::Milliseconds(static_cast<int64_t>(config_.progress_s * 1000));
  uint64_t last_completed = 0;
  absl::Time last = absl::Now();
  std::unique_lock<std::mutex> lock(progress_mu_);
  while (!progress_cv_.wait_for(lock, absl::ToChronoMilliseconds(every),
                                [this] { return progress_done_; })) {
    const std::string line = ProgressLine(absl::Now(), &last_completed, &last);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

std::string StressRun::ProgressLine(absl::Time now, uint64_t* last_completed,
                                    absl::Time* last) const {
  uint64_t issued = 0, completed = 0, lost = 0, wrong = 0;
  for (const auto& load : loads_) {
    issued += load->issued.load(std::memory_order_relaxed);
    completed += load->completed.load(std::memory_order_relaxed);
    lost += load->lost.load(std::memory_order_relaxed);
    wrong += load->wrong.load(std::memory_order_relaxed);
  }
  std::string line = absl::StrFormat(
      "[%7.1f s] issued %u, completed %u, lost %u, wrong %u; %.0f req/s",
      absl::ToDoubleSeconds(now - start_), issued, completed, lost, wrong,
      (completed - *last_completed) / absl::ToDoubleSeconds(now - *last));
  *last_completed = completed;
  *last = now;
  if (config_.faults.any()) {
    absl::StrAppend(&line, "; injected");
    for (Fault f : kAllFaults) {
      if (!h_.on(f)) continue;
      absl::StrAppendFormat(
          &line, " %s %u", FaultName(f),
          h_.injected[static_cast<int>(f)].load(std::memory_order_relaxed));
    }
    absl::StrAppendFormat(&line, "; VM resets %u",
                          h_.resets.load(std::memory_order_relaxed));
  }
  return line;
}

StressResult StressRun::Collect() const {
  StressResult result;
  result.elapsed_s = elapsed_s_;
  result.cpu_s = cpu_s_;
  for (const auto& load : loads_) {
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
    result.faults[f].injected = h_.injected[f].load();
  }
  result.guest_errors = guest_errors_;
  for (const std::string& p : guest_problems_) {
    if (result.problems.size() < kMaxProblems) result.problems.push_back(p);
  }
  result.planted = h_.planted.load();
  result.vm_resets = h_.resets.load();
  result.vm_reset_failures = h_.reset_failures.load();
  for (const std::string& e : h_.fault_errors) {
    ++result.fault_errors;
    result.problems.push_back(e);
  }
  result.hsm = hsm_.stats();
  result.hypervisor = hv_->stats();
  result.syscalls = hsm_.syscalls() + hv_->syscalls();
  return result;
}

absl::Status StressRun::Check(StressResult& result) {
  // Writes must have reached their devices: exactly, or, where a fault
  // touched some, between the certain and the possible count. Garbage may
  // forge writes to any device: then nothing is checked.
  for (auto& rig : rigs_) {
    if (rig->device_model) rig->device_model->Stop();
    if (rig->acrn_device_model) {
      rig->acrn_device_model->Stop();
      const ioreq::AcrnDeviceModelStats dm = rig->acrn_device_model->stats();
      result.dm_finish_refused += dm.finish_refused;
      result.dm_postponed += dm.postponed;
      // [kernel-handled] A finish the HSM refused is a request the device
      // model emulated that was not its own. Only forged requests explain
      // one.
      if (dm.finish_refused > 0 && !h_.GarbageReaches(rig->vmid)) {
        result.duplicated += dm.finish_refused;
        result.problems.push_back(absl::StrFormat(
            "VM %u: the device model emulated %u request(s) whose finish the "
            "HSM refused (not the device model's)", rig->vmid,
            dm.finish_refused));
      }
    }
    // What a lost upcall left in the posted ring goes out first.
    hsm_.DrainPosted(rig->vmid).IgnoreError();
    uint64_t signals = 0;
    if (read(rig->doorbell_fd, &signals, sizeof(signals)) != sizeof(signals)) {
      signals = 0;
    }
    if (h_.GarbageReaches(rig->vmid)) continue;
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

  // Exactly once, per slot (bench/internal/slot_balance.h).
  size_t index = 0;
  for (auto& rig : rigs_) {
    absl::StatusOr<std::array<uint64_t, ioreq::kIoRequestMax>> counts =
        hsm_.SlotCompletions(rig->vmid);
    if (!counts.ok()) return counts.status();
    // [acrn-vpci] What the hypervisor completed itself used no slot.
    absl::StatusOr<std::array<uint64_t, ioreq::kIoRequestMax>> in_hv =
        requests_->HandledInHypervisor(rig->vmid);
    if (!in_hv.ok()) return in_hv.status();
    for (int v = 0; v < config_.vcpus; ++v, ++index) {
      const VcpuLoad& load = *loads_[index];
      const SlotBalance balance =
          BalanceSlot({.published = (*counts)[v],
                       .taken = load.taken,
                       .in_hypervisor = (*in_hv)[v],
                       .tainted = rig->marks[v].garbage.load() != 0,
                       .lost_one = load.lost.load() != 0});
      switch (balance.verdict) {
        case SlotVerdict::kTainted:
          ++result.slots_tainted;
          break;
        case SlotVerdict::kLostOne:
          break;
        case SlotVerdict::kBalanced:
          ++result.slots_checked_exactly_once;
          break;
        case SlotVerdict::kUnbalanced:
          ++result.slots_checked_exactly_once;
          result.duplicated += balance.difference;
          result.problems.push_back(absl::StrFormat(
              "VM %u vCPU %d: the HSM completed its slot %u times and the "
              "hypervisor answered %u accesses itself, the vCPU took %u "
              "completions", rig->vmid, v, (*counts)[v], (*in_hv)[v],
              load.taken));
          break;
      }
    }
  }
  // A refused completion is the model stopping a second completion. Faults
  // that complete requests behind their clients' backs (clear, destroy,
  // garbage) make clients try, legitimately; without them there is none.
  if ((config_.faults.enabled & kRelaxingFaults) == 0 &&
      result.hsm.spurious_completions > 0) {
    result.duplicated += result.hsm.spurious_completions;
    result.problems.push_back(absl::StrFormat(
        "%u completions refused as spurious with no fault that explains them",
        result.hsm.spurious_completions));
  }
  return absl::OkStatus();
}

}  // namespace stress_internal
}  // namespace bench
