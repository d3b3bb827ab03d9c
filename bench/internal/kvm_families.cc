#include "bench/internal/kvm_families.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/internal/benchmark_common.h"
#include "bench/latency_histogram.h"
#include "bench/stress_workload.h"
#include "benchmark/benchmark.h"
#include "core/harness/kvm_hypervisor.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"
#include "core/kvm/kvm_vm.h"
#include "core/kvm/vcpu_loop.h"
#include "core/notify/adaptive_doorbell.h"
#include "core/notify/strategy.h"
#include "guests/guest_abi.h"
#include "guests/guest_vm.h"

namespace bench {
namespace {

constexpr uint32_t kProbePort = 0x3F8;
constexpr uint32_t kProbeMmio = 0xE0000000;
constexpr uint32_t kDoorbell = 0xD0000000;
constexpr uint32_t kDoorbellBatch = 64;  // writes per batch (KvmDoorbell)
constexpr uint32_t kForever = 0xFFFFFFFF;

enum class Exit { kPort, kMmio };
const char* ExitName(Exit e) { return e == Exit::kPort ? "port" : "mmio"; }

// A loop guest's parameters.
guest_params LoopParams(uint32_t program) {
  guest_params p = ioreq::guests::EmptyParams(program, 1);
  p.iterations = kForever;
  p.probe_port = kProbePort;
  p.probe_mmio = kProbeMmio;
  p.doorbell = kDoorbell;
  return p;
}

uint32_t LoopProgram(Exit e) {
  return e == Exit::kPort ? GUEST_PROGRAM_PORT_LOOP : GUEST_PROGRAM_MMIO_LOOP;
}

// A bare KVM VM of one vCPU running `params`: no slot, no HSM.
absl::StatusOr<std::unique_ptr<ioreq::kvm::KvmVm>> BareVm(
    const guest_params& params) {
  absl::StatusOr<std::unique_ptr<ioreq::kvm::KvmVm>> vm =
      ioreq::kvm::KvmVm::Create(GUEST_MEMORY_BYTES);
  if (!vm.ok()) return vm.status();
  if (absl::StatusOr<ioreq::kvm::KvmVcpu*> v = (*vm)->AddVcpu(); !v.ok()) {
    return v.status();
  }
  if (absl::Status s = ioreq::guests::PrepareGuest(**vm, params); !s.ok()) {
    return s;
  }
  return vm;
}

absl::Status Trivial(uint32_t, ioreq::IoAccess& access) {
  if (access.direction == ioreq::kDirRead) access.value = 0;
  return absl::OkStatus();
}

// `rounds` exits of the raw loop, each timed.
absl::StatusOr<std::vector<int64_t>> RawExits(Exit e, int rounds) {
  absl::StatusOr<std::unique_ptr<ioreq::kvm::KvmVm>> vm =
      BareVm(LoopParams(LoopProgram(e)));
  if (!vm.ok()) return vm.status();
  ioreq::kvm::VcpuLoopStats stats;
  // A fresh VM's first exits are slower (its memory is being mapped): warm
  // it up first, as the benchmark loops are by their earlier runs.
  for (int i = 0; i < rounds / 4; ++i) {
    absl::StatusOr<ioreq::kvm::VcpuStep> step = ioreq::kvm::StepVcpu(
        (*vm)->vcpu(0), {GUEST_REPORT_PORT}, Trivial, &stats);
    if (!step.ok()) return step.status();
  }
  std::vector<int64_t> ns;
  ns.reserve(rounds);
  for (int i = 0; i < rounds; ++i) {
    const int64_t start = absl::GetCurrentTimeNanos();
    absl::StatusOr<ioreq::kvm::VcpuStep> step = ioreq::kvm::StepVcpu(
        (*vm)->vcpu(0), {GUEST_REPORT_PORT}, Trivial, &stats);
    if (!step.ok()) return step.status();
    ns.push_back(absl::GetCurrentTimeNanos() - start);
  }
  return ns;
}

// The raw exit's median in this process, measured once per kind.
double RawExitMedianNs(Exit e) {
  static std::mutex mu;
  static auto* cache = new std::map<Exit, double>;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache->find(e); it != cache->end()) return it->second;
  absl::StatusOr<std::vector<int64_t>> ns = RawExits(e, 4000);
  double median = 0;
  if (ns.ok() && !ns->empty()) {
    std::nth_element(ns->begin(), ns->begin() + ns->size() / 2, ns->end());
    median = static_cast<double>((*ns)[ns->size() / 2]);
  }
  cache->emplace(e, median);
  return median;
}

// TSC ticks per nanosecond on this host, measured once against the
// monotonic clock over 50 ms. A guest's rdtsc counts at the same rate
// (KVM offsets the guest's TSC, it does not scale it, unless the host
// scales TSCs for migration, which these machines do not).
double TscTicksPerNs() {
  static const double rate = [] {
    const int64_t t0 = absl::GetCurrentTimeNanos();
    const uint64_t c0 = __builtin_ia32_rdtsc();
    absl::SleepFor(absl::Milliseconds(50));
    const uint64_t c1 = __builtin_ia32_rdtsc();
    const int64_t t1 = absl::GetCurrentTimeNanos();
    return static_cast<double>(c1 - c0) / static_cast<double>(t1 - t0);
  }();
  return rate;
}

// Times one exit per benchmark iteration into `vmm` (KVM_RUN to the exit
// handled) and, from the guest's own rdtsc around each access (its
// report's last_ticks, written before the next access traps), into
// `guest`. False (and the error reported) if the vCPU stopped.
bool TimeExits(benchmark::State& state, ioreq::kvm::KvmVm& vm,
               const ioreq::kvm::TrapHandler& handler, LatencyHistogram& vmm,
               LatencyHistogram& guest) {
  ioreq::kvm::VcpuLoopStats stats;
  volatile guest_report& report = ioreq::guests::LiveReportOf(vm, 0);
  const double per_ns = TscTicksPerNs();
  for (auto _ : state) {
    const int64_t start = absl::GetCurrentTimeNanos();
    absl::StatusOr<ioreq::kvm::VcpuStep> step =
        ioreq::kvm::StepVcpu(vm.vcpu(0), {GUEST_REPORT_PORT}, handler, &stats);
    vmm.Record(absl::GetCurrentTimeNanos() - start);
    if (!step.ok()) {
      state.SkipWithError(step.status().ToString().c_str());
      return false;
    }
    // The exit just handled came after the guest wrote the time of the
    // access before it (none before the second exit).
    if (stats.exits > 1 && per_ns > 0) {
      guest.Record(static_cast<int64_t>(report.last_ticks / per_ns));
    }
  }
  return true;
}

void ReportGuestTail(benchmark::State& state, const LatencyHistogram& guest) {
  if (guest.count() == 0) return;
  state.counters["guest_p50_ns"] = guest.Percentile(50);
  state.counters["guest_p99_ns"] = guest.Percentile(99);
  state.counters["guest_p999_ns"] = guest.Percentile(99.9);
}

bool SkipWithoutKvm(benchmark::State& state) {
  absl::Status usable = ioreq::kvm::KvmUsable();
  if (usable.ok()) return false;
  state.SkipWithError(std::string(usable.message()).c_str());
  return true;
}

// ------------------------------------------------------------ raw floor

void KvmExit(benchmark::State& state, Exit e) {
  if (SkipWithoutKvm(state)) return;
  absl::StatusOr<std::unique_ptr<ioreq::kvm::KvmVm>> vm =
      BareVm(LoopParams(LoopProgram(e)));
  if (!vm.ok()) {
    state.SkipWithError(vm.status().ToString().c_str());
    return;
  }
  LatencyHistogram h, guest;
  const double cpu_before = ProcessCpuNs();
  if (!TimeExits(state, **vm, Trivial, h, guest)) return;
  const double n = std::max<double>(1, state.iterations());
  ReportTail(state, h);
  ReportGuestTail(state, guest);
  state.counters["ratio_to_exit"] = h.Percentile(50) / RawExitMedianNs(e);
  state.counters["cpu_ns_per_exit"] = (ProcessCpuNs() - cpu_before) / n;
  state.counters["exits_per_s"] =
      benchmark::Counter(n, benchmark::Counter::kIsRate);
}

// ------------------------------------------------------------ full path

// A KVM hypervisor and an HSM with one VM of one vCPU, and one client that
// answers the probe port and MMIO page with zero.
struct OneKvmVcpu {
  OneKvmVcpu(ioreq::Strategy strategy, ioreq::Topology topology, bool polling)
      : hv(Options(strategy, polling)), hsm(&hv, HsmOptions(topology), strategy) {
    ioreq::ConnectUpcall(hv, hsm);
  }
  static ioreq::KvmHypervisorOptions Options(ioreq::Strategy s, bool polling) {
    ioreq::KvmHypervisorOptions o;
    o.strategy = s;
    o.polling = polling;
    o.memory_bytes = GUEST_MEMORY_BYTES;
    o.report_port = GUEST_REPORT_PORT;
    return o;
  }
  static ioreq::HsmOptions HsmOptions(ioreq::Topology t) {
    ioreq::HsmOptions o;
    o.topology = t;
    return o;
  }
  absl::Status Build(const guest_params& params) {
    absl::StatusOr<uint16_t> id = ioreq::CreateWiredVm(hv, hsm, 1);
    if (!id.ok()) return id.status();
    vm = *id;
    absl::StatusOr<ioreq::ClientId> client =
        hsm.CreateClient(vm, "probe", [](ioreq::IoAccess& a) {
          return Trivial(0, a);
        }, false);
    if (!client.ok()) return client.status();
    if (absl::Status s = hsm.AddRange(*client, ioreq::kTypePortIo, kProbePort,
                                      kProbePort + 7);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = hsm.AddRange(*client, ioreq::kTypeMmio, kProbeMmio,
                                      kProbeMmio + 0xFFF);
        !s.ok()) {
      return s;
    }
    return ioreq::guests::PrepareGuest(*hv.kvm_vm(vm), params);
  }
  ioreq::kvm::KvmVcpu& vcpu() { return hv.kvm_vm(vm)->vcpu(0); }
  uint64_t syscalls() const { return hsm.syscalls() + hv.syscalls(); }

  ioreq::KvmHypervisor hv;  // declared first: the HSM goes first
  ioreq::Hsm hsm;
  uint16_t vm = 0;
};

void KvmRoundTrip(benchmark::State& state, ioreq::Strategy strategy,
                  ioreq::Topology topology, bool polling, Exit e) {
  if (SkipWithoutKvm(state)) return;
  if (SkipWhereRefused(state, ioreq::CheckStrategySupported(strategy))) return;
  // This thread runs the vCPU and waits for its completions, for this run
  // only (AdaptiveDoorbell counts it runnable from its first wait on).
  ioreq::AdaptiveWaiterScope waits_here;
  OneKvmVcpu sys(strategy, topology, polling);
  if (absl::Status s = sys.Build(LoopParams(LoopProgram(e))); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  const ioreq::kvm::TrapHandler trap = [&sys](uint32_t vcpu,
                                              ioreq::IoAccess& a) {
    return sys.hv.Trap(sys.vm, vcpu, a);
  };
  LatencyHistogram h, guest;
  const uint64_t syscalls_before = sys.syscalls();
  const double cpu_before = ProcessCpuNs();
  if (!TimeExits(state, *sys.hv.kvm_vm(sys.vm), trap, h, guest)) return;
  const double n = std::max<double>(1, state.iterations());
  ReportTail(state, h);
  ReportGuestTail(state, guest);
  state.counters["ratio_to_exit"] = h.Percentile(50) / RawExitMedianNs(e);
  state.counters["cpu_ns_per_request"] = (ProcessCpuNs() - cpu_before) / n;
  state.counters["syscalls_per_request"] =
      static_cast<double>(sys.syscalls() - syscalls_before) / n;
}

// ------------------------------------------------------------ doorbells

enum class DoorbellPath { kUserExit, kHsmIoeventfd, kKvmIoeventfd, kCoalesced };
const char* DoorbellPathName(DoorbellPath p) {
  switch (p) {
    case DoorbellPath::kUserExit: return "user_exit";
    case DoorbellPath::kHsmIoeventfd: return "hsm_ioeventfd";
    case DoorbellPath::kKvmIoeventfd: return "kvm_ioeventfd";
    case DoorbellPath::kCoalesced: return "coalesced";
  }
  return "?";
}

void KvmDoorbell(benchmark::State& state, DoorbellPath path) {
  if (SkipWithoutKvm(state)) return;
  guest_params params = LoopParams(GUEST_PROGRAM_DOORBELL_LOOP);
  params.iterations = kDoorbellBatch;
  const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    state.SkipWithError("eventfd() failed");
    return;
  }
  uint64_t signals = 0;
  auto signal = [&] {
    const uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) == sizeof(one)) ++signals;
  };
  std::unique_ptr<ioreq::kvm::KvmVm> bare;
  std::unique_ptr<OneKvmVcpu> sys;
  ioreq::kvm::KvmVcpu* vcpu = nullptr;
  absl::Status built;
  if (path == DoorbellPath::kHsmIoeventfd) {
    sys = std::make_unique<OneKvmVcpu>(ioreq::Strategy::kFutex,
                                       ioreq::Topology::kKernel, false);
    built = sys->Build(params);
    if (built.ok()) {
      ioreq::IoeventfdArgs args{};
      args.fd = static_cast<uint32_t>(efd);
      args.addr = kDoorbell;
      args.len = 4;
      built = sys->hsm.Ioeventfd(sys->vm, args);
      vcpu = &sys->vcpu();
    }
  } else {
    absl::StatusOr<std::unique_ptr<ioreq::kvm::KvmVm>> vm = BareVm(params);
    built = vm.status();
    if (vm.ok()) {
      bare = std::move(*vm);
      vcpu = &bare->vcpu(0);
      if (path == DoorbellPath::kKvmIoeventfd) {
        built = bare->AddIoeventfd(kDoorbell, 4, efd, /*port=*/false);
      } else if (path == DoorbellPath::kCoalesced) {
        built = bare->AddCoalescedMmio(kDoorbell, 4096);
      }
    }
  }
  if (!built.ok()) {
    state.SkipWithError(built.ToString().c_str());
    close(efd);
    return;
  }
  bool batch_done = false;
  const ioreq::kvm::TrapHandler handler = [&](uint32_t v, ioreq::IoAccess& a) {
    if (a.type == ioreq::kTypePortIo && a.address == kProbePort) {
      batch_done = true;  // the batch's closing port write: the VMM's own
      return absl::OkStatus();
    }
    if (path == DoorbellPath::kHsmIoeventfd) return sys->hv.Trap(sys->vm, v, a);
    if (a.direction == ioreq::kDirWrite) signal();
    return Trivial(v, a);
  };
  ioreq::kvm::VcpuLoopStats stats;
  LatencyHistogram h;  // per batch
  const double cpu_before = ProcessCpuNs();
  uint64_t writes = 0;
  for (auto _ : state) {
    const int64_t start = absl::GetCurrentTimeNanos();
    batch_done = false;
    while (!batch_done) {
      absl::StatusOr<ioreq::kvm::VcpuStep> step =
          ioreq::kvm::StepVcpu(*vcpu, {GUEST_REPORT_PORT}, handler, &stats);
      if (!step.ok()) {
        state.SkipWithError(step.status().ToString().c_str());
        break;
      }
    }
    if (path == DoorbellPath::kCoalesced) {
      bare->DrainCoalesced([&](uint64_t, uint32_t, uint64_t) { signal(); });
    }
    h.Record(absl::GetCurrentTimeNanos() - start);
    writes += kDoorbellBatch;
  }
  uint64_t counted = 0;
  if (path == DoorbellPath::kKvmIoeventfd || path == DoorbellPath::kHsmIoeventfd) {
    if (read(efd, &counted, sizeof(counted)) != sizeof(counted)) counted = 0;
  } else {
    counted = signals;
  }
  close(efd);
  // Per write: a batch's time over its writes.
  ReportTail(state, h, 1.0 / kDoorbellBatch);
  state.counters["exits_per_write"] =
      writes ? static_cast<double>(stats.exits) / writes : 0;
  state.counters["cpu_ns_per_write"] =
      writes ? (ProcessCpuNs() - cpu_before) / writes : 0;
  // Every write signalled its eventfd once (the in-kernel paths too).
  state.counters["signals_per_write"] =
      writes ? static_cast<double>(counted) / writes : 0;
}

// ------------------------------------------------------------ throughput

void KvmThroughput(benchmark::State& state, const StressConfig& config) {
  if (SkipWithoutKvm(state)) return;
  StressFamily(state, config);
}

}  // namespace

void RegisterKvmFamilies() {
  for (Exit e : {Exit::kPort, Exit::kMmio}) {
    benchmark::RegisterBenchmark(Name("KvmExit", {{"exit", ExitName(e)}}).c_str(),
                                 [e](benchmark::State& s) { KvmExit(s, e); })
        ->UseRealTime()
        ->MinTime(0.3);
  }
  for (ioreq::Strategy strategy : ioreq::kAllStrategies) {
    for (ioreq::Topology topology : ioreq::kAllTopologies) {
      for (bool polling : {false, true}) {
        for (Exit e : {Exit::kPort, Exit::kMmio}) {
          benchmark::RegisterBenchmark(
              Name("KvmRoundTrip",
                   {{"strategy", ioreq::StrategyName(strategy)},
                    {"topology", ioreq::TopologyName(topology)},
                    {"completion", polling ? "polling" : "notify"},
                    {"exit", ExitName(e)}})
                  .c_str(),
              [=](benchmark::State& s) {
                KvmRoundTrip(s, strategy, topology, polling, e);
              })
              ->UseRealTime()
              ->MinTime(0.3);
        }
      }
    }
  }
  for (DoorbellPath p : {DoorbellPath::kUserExit, DoorbellPath::kHsmIoeventfd,
                         DoorbellPath::kKvmIoeventfd, DoorbellPath::kCoalesced}) {
    benchmark::RegisterBenchmark(
        Name("KvmDoorbell", {{"impl", DoorbellPathName(p)}}).c_str(),
        [p](benchmark::State& s) { KvmDoorbell(s, p); })
        ->UseRealTime()
        ->MinTime(0.3);
  }
  for (ioreq::Strategy strategy : ioreq::kAllStrategies) {
    for (ioreq::Topology topology : ioreq::kAllTopologies) {
      for (int vcpus : {1, 16}) {
        StressConfig c;
        c.hypervisor = Producer::kKvm;
        c.strategy = strategy;
        c.topology = topology;
        c.vcpus = vcpus;
        c.clients = 1;
        c.seconds = 0.4;
        c.completion_timeout = absl::Seconds(30);
        benchmark::RegisterBenchmark(
            Name("KvmThroughput", {{"strategy", ioreq::StrategyName(strategy)},
                                   {"topology", ioreq::TopologyName(topology)},
                                   {"vcpus", absl::StrCat(vcpus)}})
                .c_str(),
            [c](benchmark::State& s) { KvmThroughput(s, c); })
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace bench
