#include "bench/stress_workload.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/internal/fault_threads.h"
#include "bench/internal/stress_rig.h"
#include "bench/internal/vcpu_load.h"
#include "core/notify/strategy.h"
#include "core/abi/slot_state.h"
#include "tools/flags/strict_flags.h"

namespace bench {
namespace {

using stress_internal::ClearThread;
using stress_internal::DestroyThread;
using stress_internal::GarbageThread;
using stress_internal::RunState;
using stress_internal::Heartbeat;
using stress_internal::kBarBase;
using stress_internal::kBarSize;
using stress_internal::kDoorbell;
using stress_internal::kMaxProblems;
using stress_internal::kRelaxingFaults;
using stress_internal::LossyHypervisorCalls;
using stress_internal::PauseThread;
using stress_internal::VcpuLoad;
using stress_internal::VmRig;
using stress_internal::Watchdog;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

// "0 FREE, 1 PROCESSING (held by bar1), ...": where each slot stands.
std::string SlotStates(const ioreq::Hsm& hsm, const ioreq::SharedPage* page,
                       uint16_t vmid, int vcpus) {
  std::vector<std::string> states;
  for (int i = 0; i < vcpus; ++i) {
    const uint32_t state = ioreq::LoadStateAcquire(page->slots[i]);
    std::string s = absl::StrCat(i, " ", ioreq::StateName(state));
    absl::StatusOr<std::string> holder = hsm.HolderOf(vmid, i);
    if (state == ioreq::kStateProcessing && holder.ok() && !holder->empty()) {
      absl::StrAppend(&s, " (held by ", *holder, ")");
    }
    states.push_back(std::move(s));
  }
  return absl::StrJoin(states, ", ");
}

// One stress run, in four steps: Build() the model and the devices, Run()
// the load and the fault threads to the end, Collect() what every thread
// counted, Check() what only the end can tell (writes delivered, exactly
// once per slot). Members are declared so that they go in the right order:
// the HSM first, then the hypervisor, then the devices its clients call.
class StressRun {
 public:
  StressRun(const StressConfig& config, Watchdog& watchdog)
      : config_(config),
        watchdog_(watchdog),
        rescan_(config.rescan ? absl::Milliseconds(20)
                              : absl::InfiniteDuration()),
        hv_(config.strategy, rescan_),
        h_(config, hv_, rigs_),
        calls_(&h_),
        hsm_(&calls_, HsmOptions(), config.strategy) {
    h_.hsm = &hsm_;
  }
  ~StressRun() { watchdog_.SetDescriber(nullptr); }

  absl::Status Build();
  void Run();
  StressResult Collect() const;
  absl::Status Check(StressResult& result);

 private:
  ioreq::HsmOptions HsmOptions() const {
    ioreq::HsmOptions options;
    options.topology = config_.topology;
    options.rescan_interval = rescan_;
    return options;
  }
  absl::Status BuildVm();
  // Starts a helper thread (spurious wake-ups, a fault) until the load ends.
  void StartHelper(const char* name,
                   void (*body)(RunState&, Heartbeat&, std::atomic<bool>&));
  void ProgressLoop();
  std::string ProgressLine(absl::Time now, uint64_t* last_completed,
                           absl::Time* last) const;

  const StressConfig& config_;
  Watchdog& watchdog_;
  const absl::Duration rescan_;
  std::vector<std::unique_ptr<VmRig>> rigs_;
  ioreq::EmulatedHypervisor hv_;
  RunState h_;
  // The HSM reaches the hypervisor through the lossy calls (drop fault).
  LossyHypervisorCalls calls_;
  ioreq::Hsm hsm_;
  std::vector<std::unique_ptr<VcpuLoad>> loads_;
  absl::Time start_;
  double cpu_start_ = 0;
  double elapsed_s_ = 0, cpu_s_ = 0;

  std::atomic<bool> load_done_{false};
  std::vector<std::thread> helpers_;
  std::mutex progress_mu_;
  std::condition_variable progress_cv_;
  bool progress_done_ = false;  // guarded by progress_mu_
};

absl::Status StressRun::Build() {
  hv_.SetUpcallHandler([this](uint16_t vmid, uint32_t vcpu) {
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
          SlotStates(hsm_, hv_.shared_page(rig->vmid), rig->vmid,
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
  return absl::OkStatus();
}

// A VM as the stress command lays it out (stress_workload.h).
absl::Status StressRun::BuildVm() {
  auto rig = std::make_unique<VmRig>();
  absl::StatusOr<uint16_t> vmid = ioreq::CreateWiredVm(hv_, hsm_, config_.vcpus);
  if (!vmid.ok()) return vmid.status();
  rig->vmid = *vmid;
  if (rig->vmid != rigs_.size()) {
    return absl::InternalError("VM ids are expected to be 0, 1, 2, ...");
  }
  absl::Status s;

  absl::StatusOr<ioreq::ClientId> uart =
      hsm_.CreateClient(rig->vmid, "uart", rig->uart.Handler(), false);
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
  ioreq::IoeventfdArgs doorbell{};
  doorbell.fd = static_cast<uint32_t>(rig->doorbell_fd);
  doorbell.addr = kDoorbell;
  doorbell.len = 4;
  s = hsm_.Ioeventfd(rig->vmid, doorbell);
  if (!s.ok()) return s;
  rig->pci.AddStandardDevices();
  rig->device_model = std::make_unique<ioreq::DeviceModelThread>(
      &hsm_, rig->vmid, rig->pci.DefaultDeviceModel());
  s = rig->device_model->Start();
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

void StressRun::Run() {
  cpu_start_ = CpuSeconds();
  start_ = absl::Now();
  const absl::Time deadline =
      start_ + absl::Microseconds(static_cast<int64_t>(config_.seconds * 1e6));
  std::vector<std::thread> vcpus;
  for (auto& load : loads_) {
    vcpus.emplace_back([&load, deadline] { load->Run(deadline); });
  }
  if (config_.spurious_wakeups) StartHelper("spurious wake-ups", SpuriousWakeups);
  if (h_.on(Fault::kGarbage)) StartHelper("garbage writer", GarbageThread);
  if (h_.on(Fault::kDestroy)) StartHelper("client destroyer", DestroyThread);
  if (h_.on(Fault::kClear)) StartHelper("VM clearer", ClearThread);
  if (h_.on(Fault::kPause)) StartHelper("dispatcher pauser", PauseThread);
  std::thread progress;
  if (config_.progress_s > 0) progress = std::thread([this] { ProgressLoop(); });

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
  result.vm_resets = h_.resets.load();
  result.vm_reset_failures = h_.reset_failures.load();
  for (const std::string& e : h_.fault_errors) {
    ++result.fault_errors;
    result.problems.push_back(e);
  }
  result.hsm = hsm_.stats();
  result.hypervisor = hv_.stats();
  result.syscalls = hsm_.syscalls() + hv_.syscalls();
  return result;
}

absl::Status StressRun::Check(StressResult& result) {
  // Writes must have reached their devices: exactly, or, where a fault
  // touched some, between the certain and the possible count. Garbage may
  // forge writes to any device: then nothing is checked.
  for (auto& rig : rigs_) {
    rig->device_model->Stop();
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

  // Exactly once, per slot: the HSM published COMPLETE into a slot as often
  // as its vCPU took a completion from it. Slots garbage reached are left
  // out (a forged request completes too), and so are the slots of vCPUs
  // that lost a request (its late completion is not a duplicate).
  size_t index = 0;
  for (auto& rig : rigs_) {
    absl::StatusOr<std::array<uint64_t, ioreq::kIoRequestMax>> counts =
        hsm_.SlotCompletions(rig->vmid);
    if (!counts.ok()) return counts.status();
    for (int v = 0; v < config_.vcpus; ++v, ++index) {
      const VcpuLoad& load = *loads_[index];
      if (rig->marks[v].garbage.load() != 0) {
        ++result.slots_tainted;
        continue;
      }
      if (load.lost.load() != 0) continue;
      ++result.slots_checked_exactly_once;
      if ((*counts)[v] != load.taken) {
        const uint64_t diff = (*counts)[v] > load.taken
                                  ? (*counts)[v] - load.taken
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
  if ((config_.faults.enabled & kRelaxingFaults) == 0 &&
      result.hsm.spurious_completions > 0) {
    result.duplicated += result.hsm.spurious_completions;
    result.problems.push_back(absl::StrFormat(
        "%u completions refused as spurious with no fault that explains them",
        result.hsm.spurious_completions));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStressConfig(const StressConfig& c) {
  auto bad = [](const char* flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: accepts %s", flag, value, what));
  };
  bool known_strategy = false;
  for (ioreq::Strategy s : ioreq::kAllStrategies) known_strategy |= s == c.strategy;
  if (!known_strategy) {
    return bad("strategy", absl::StrCat(static_cast<int>(c.strategy)),
               absl::StrCat("one of: ", ioreq::StrategyNameList()).c_str());
  }
  if (c.topology != ioreq::Topology::kKernel &&
      c.topology != ioreq::Topology::kDirect) {
    return bad("topology", absl::StrCat(static_cast<int>(c.topology)),
               "one of: kernel, direct");
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
  if (c.run_bound < absl::ZeroDuration() || c.run_bound > absl::Hours(24)) {
    return bad("watchdog_s", absl::FormatDuration(c.run_bound), "0 to 86400");
  }
  return ValidateFaultConfig(c.faults);
}

absl::StatusOr<StressResult> RunStress(const StressConfig& config) {
  if (absl::Status valid = ValidateStressConfig(config); !valid.ok()) {
    return valid;
  }
  if (absl::Status s = ioreq::CheckStrategySupported(config.strategy);
      !s.ok()) {
    return s;
  }
  const absl::Duration hang_bound =
      config.hang_bound > absl::ZeroDuration()
          ? config.hang_bound
          : 2 * config.completion_timeout + absl::Seconds(10);
  const absl::Duration run_bound =
      config.run_bound > absl::ZeroDuration()
          ? config.run_bound
          : absl::Seconds(config.seconds) + absl::Seconds(600);
  // The one watchdog covers the whole run: building, the load, teardown.
  Watchdog watchdog(hang_bound, run_bound);
  StressResult result;
  {
    StressRun run(config, watchdog);
    if (absl::Status built = run.Build(); !built.ok()) return built;
    run.Run();
    result = run.Collect();
    if (absl::Status checked = run.Check(result); !checked.ok()) {
      return checked;
    }
  }
  return result;
}

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

// Every HSM counter, as one JSON object (hsm_stats.h lists them).
std::string HsmJson(const ioreq::HsmStats& stats) {
  std::vector<std::string> members;
  ioreq::ForEachHsmStat(stats, [&](const char* name, uint64_t value) {
    members.push_back(absl::StrFormat("\"%s\": %u", name, value));
  });
  return absl::StrCat("{", absl::StrJoin(members, ", "), "}");
}

std::string StressJson(const StressConfig& c, const StressResult& r) {
  return absl::StrFormat(
      "{\"strategy\": \"%s\", \"topology\": \"%s\", \"vms\": %d, "
      "\"vcpus\": %d, \"clients\": %d, "
      "\"polling\": %s, \"seed\": %u, \"issued\": %u, \"completed\": %u, "
      "\"lost\": %u, \"duplicated\": %u, \"wrong_value\": %u, "
      "\"undelivered_writes\": %u, \"p50_ns\": %u, \"p99_ns\": %u, "
      "\"p999_ns\": %u, \"max_ns\": %u, \"requests_per_s\": %.1f, "
      "\"cpu_ns_per_request\": %.1f, \"syscalls_per_request\": %.3f, "
      "\"elapsed_s\": %.3f, \"hsm\": %s, "
      "\"notifications\": %u, \"completions_rescued_by_rescan\": %u, "
      "%s\"ok\": %s}",
      ioreq::StrategyName(c.strategy), ioreq::TopologyName(c.topology), c.vms,
      c.vcpus, c.clients, c.polling ? "true" : "false", c.seed, r.issued,
      r.completed, r.lost, r.duplicated, r.wrong_value, r.undelivered_writes,
      r.round_trip_ns.Percentile(50), r.round_trip_ns.Percentile(99),
      r.round_trip_ns.Percentile(99.9), r.round_trip_ns.max(),
      r.requests_per_s(), r.cpu_ns_per_request(), r.syscalls_per_request(),
      r.elapsed_s, HsmJson(r.hsm), r.hypervisor.notifications,
      r.hypervisor.rescued_by_rescan, FaultsJson(c, r),
      r.clean() ? "true" : "false");
}

std::string StressText(const StressConfig& c, const StressResult& r) {
  std::string out = absl::StrFormat(
      "ioreq stress: strategy %s, topology %s, %d VM(s) x %d vCPU(s), "
      "%d BAR client(s), %s completion, seed %u\n",
      ioreq::StrategyName(c.strategy), ioreq::TopologyName(c.topology), c.vms,
      c.vcpus, c.clients, c.polling ? "polling" : "notified", c.seed);
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
