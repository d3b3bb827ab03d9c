// bench/ioreq_benchmark.cc: `bazel run //bench:ioreq_benchmark`.
//
// The benchmark suite, one binary so that every ratio is taken within one
// run (over 400 lines for the same reason: every family is registered here,
// next to the raw primitive it is compared with). Names carry their parameters as Google Benchmark's name/key:value:
//
//   Primitive/impl:{raw,doorbell}/primitive:P      two-thread ping-pong
//   Primitive/impl:raw_ring3/primitive:futex       three threads in a ring
//              (the floor of the kernel topology's three hand-offs)
//   RoundTrip/strategy:S/topology:T/completion:C[/carry_wakes:1]
//              one vCPU, one client (carry_wakes: uring, notified only)
//   Throughput/strategy:S/topology:T/vms:V/vcpus:N/clients:K[/rate:R]
//              [/service_poll:Dus] [/carry_wakes:1] [/profile:acrn]
//              (no /profile: is hardened; no /service_poll: polls not at
//              all; /carry_wakes:1: StressConfig::carry_wakes)
//   RangeLookup/impl:{index,linear}/ranges:N
//   SlotCheck/input:{valid,garbage}
//   HistogramRecord
//   DoorbellWrite/path:{slot,ioeventfd,posted}/profile:R/topology:T
//          a doorbell write three ways (bench/internal/doorbell_families.h)
//   Kvm*   the trapped path: KVM vCPUs as producers, with the raw exit
//          beside it (bench/internal/kvm_families.h)
//
// Counters: p50_ns, p99_ns, p999_ns, max_ns (every request recorded in the
// log-linear histogram), ratio_to_raw (p50 over the matching raw ping-pong's
// median, measured once in this process), cpu_ns_per_request (process CPU,
// all threads), syscalls_per_request (doorbell system calls), requests_per_s.
// `--quick` runs a representative subset in under 30 s. Primitive/impl:raw
// and RoundTrip also run under two placements (core/placement/), named
// /pin:same-core and /pin:cross-core, with the raw ping-pong of the same
// placement as their baseline; names without /pin: are unpinned.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "bench/internal/benchmark_common.h"
#include "bench/internal/benchmark_flags.h"
#include "bench/internal/doorbell_families.h"
#include "bench/internal/kvm_families.h"
#include "bench/internal/machine_fingerprint.h"
#include "bench/internal/pingpong.h"
#include "bench/latency_histogram.h"
#include "bench/stress_workload.h"
#include "benchmark/benchmark.h"
#include "core/harness/devices/mmio_bar.h"
#include "core/hsm/hsm.h"
#include "core/harness/system.h"
#include "core/notify/adaptive_doorbell.h"
#include "core/notify/strategy.h"
#include "core/placement/busy_load.h"
#include "core/placement/placement.h"
#include "core/hsm/kernel_range_list.h"
#include "core/hsm/range_index.h"
#include "bench/internal/abseil_clock.h"
#include "core/abi/slot_decode.h"

namespace bench {
namespace {

// ------------------------------------------------------------ primitives

// Round trips of a raw hand-off (`pair`, started by this thread), against
// the two-thread ping-pong of `baseline` under the same placement.
void RawRoundTrips(benchmark::State& state, PingPong& pair, Primitive baseline,
                   const ioreq::Placement& placement) {
  LatencyHistogram h;
  for (auto _ : state) {
    const int64_t start = absl::GetCurrentTimeNanos();
    pair.RoundTrip();
    h.Record(absl::GetCurrentTimeNanos() - start);
  }
  ReportTail(state, h);
  state.counters["ratio_to_raw"] =
      h.Percentile(50) / BaselineMedianNs(baseline, placement);
}

void RawPrimitive(benchmark::State& state, Primitive primitive,
                  const ioreq::Placement& placement) {
  if (SkipWhereRefused(state, CheckPrimitiveSupported(primitive))) return;
  ioreq::ScopedPin pin(placement.vcpu_cpus);  // this thread initiates
  RawRoundTrips(state, *MakePingPong(primitive, placement.hsm_cpus), primitive,
                placement);
}

// The raw three-thread futex ring (MakeFutexRing3()): the floor of the
// kernel topology's three hand-offs, against the two-thread ping-pong.
void RawFutexRing3(benchmark::State& state, const ioreq::Placement& placement) {
  ioreq::ScopedPin pin(placement.vcpu_cpus);  // this thread initiates
  RawRoundTrips(state, *MakeFutexRing3(placement.hsm_cpus), Primitive::kFutex,
                placement);
}

// Ping-pong between two threads through the model's doorbell type: the
// policy's cost on top of its primitive.
template <typename Bell>
void DoorbellPingPong(benchmark::State& state, Primitive baseline) {
  if (SkipWhereRefused(state, CheckPrimitiveSupported(baseline))) return;
  // This thread waits on `pong` only for this run (AdaptiveDoorbell counts
  // it runnable from its first wait on).
  ioreq::AdaptiveWaiterScope waits_here;
  Bell ping, pong;
  std::atomic<int64_t> seen{0};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    int64_t expect = 1;
    for (;;) {
      while (seen.load(std::memory_order_acquire) < expect) {
        if (stop.load(std::memory_order_acquire)) return;
        ping.WaitFor(absl::Milliseconds(50));
      }
      seen.store(expect + 1, std::memory_order_release);
      pong.Ring();
      expect += 2;
    }
  });
  LatencyHistogram h;
  int64_t token = 0;
  for (auto _ : state) {
    const int64_t start = absl::GetCurrentTimeNanos();
    seen.store(token + 1, std::memory_order_release);
    ping.Ring();
    while (seen.load(std::memory_order_acquire) < token + 2) pong.Wait();
    token += 2;
    h.Record(absl::GetCurrentTimeNanos() - start);
  }
  stop.store(true, std::memory_order_release);
  ping.Ring();
  other.join();
  ReportTail(state, h);
  state.counters["ratio_to_raw"] =
      h.Percentile(50) / BaselineMedianNs(baseline);
}

// ------------------------------------------------------------ round trip

// When a sampled request of the one vCPU reached each hop (ns, the realtime
// clock): the kernel dispatcher's hand-over and the client's handler. Only
// one request in kHopSample is stamped, and it is left out of the round
// trip's own figures: a stamp is a clock read on the HSM's side and a line
// the vCPU then reads from the other CPU, the benchmark's cost and not the
// model's (the raw ping-pong it is set against pays neither).
constexpr int kHopSample = 16;
constexpr uint64_t kBarBase = 0xE0000000;
constexpr uint64_t kTimedRegister = kBarBase + 0x10;    // every other request
constexpr uint64_t kStampedRegister = kBarBase + 0x18;  // the sampled one
struct HopStamps {
  // The one vCPU's slot, for the dispatcher's look at which register a
  // request reads (set before the first request).
  std::atomic<const ioreq::IoRequest*> slot{nullptr};
  alignas(64) std::atomic<int64_t> dispatched{0};
  alignas(64) std::atomic<int64_t> handled{0};
};

// One vCPU and one MMIO BAR client, with each hop of its requests stamped.
struct OneVcpuSystem : ioreq::System {
  OneVcpuSystem(ioreq::Strategy strategy, ioreq::Topology topology,
                const ioreq::Placement& placement = {}, bool carry_wakes = false)
      : OneVcpuSystem(std::make_shared<HopStamps>(), strategy, topology, placement,
                      carry_wakes) {}
  uint64_t syscalls() const { return hsm.syscalls() + hv.syscalls(); }

  const std::shared_ptr<HopStamps> stamps;
  ioreq::MmioBar bar;
  const uint16_t vm;

 private:
  OneVcpuSystem(std::shared_ptr<HopStamps> hop_stamps, ioreq::Strategy strategy,
                ioreq::Topology topology, const ioreq::Placement& placement,
                bool carry_wakes)
      : System(strategy, Options(topology, placement, hop_stamps, carry_wakes)),
        stamps(std::move(hop_stamps)),
        bar(kBarBase, 0x1000),
        vm(AddVm(1).value()) {
    // Relaxed: the dispatcher reads it after the hypervisor's release of
    // the first PENDING, which comes after this store.
    stamps->slot.store(&hv.shared_page(vm)->slots[0], std::memory_order_relaxed);
    // Relaxed stamps: the vCPU reads them after its completion, which the
    // slot's release/acquire already orders after the handler's and the
    // dispatcher's stores.
    const ioreq::ClientId c =
        hsm.CreateClient(vm, "bar",
                         [this](ioreq::IoAccess& a) {
                           if (a.address == kStampedRegister) {
                             stamps->handled.store(absl::GetCurrentTimeNanos(),
                                                   std::memory_order_relaxed);
                           }
                           return bar.Handle(a);
                         },
                         false)
            .value();
    if (!hsm.AddRange(c, ioreq::kTypeMmio, bar.base(), bar.last()).ok()) std::abort();
  }
  static ioreq::HsmOptions Options(ioreq::Topology topology,
                                  const ioreq::Placement& placement,
                                  const std::shared_ptr<HopStamps>& stamps,
                                  bool carry_wakes) {
    ioreq::HsmOptions o;
    o.topology = topology;
    o.carry_wakes = carry_wakes;  // System passes it to the hypervisor too
    o.thread_cpus = placement.hsm_cpus;
    o.on_dispatched = [stamps](uint16_t, uint32_t) {
      // The slot is PROCESSING, the dispatcher's: its fields are still the
      // request it routed.
      const ioreq::IoRequest* slot = stamps->slot.load(std::memory_order_relaxed);
      if (slot != nullptr && ioreq::DecodeAccess(*slot).address == kStampedRegister) {
        stamps->dispatched.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
      }
    };
    return o;
  }
};

// `busy_processes` other processes spin on the machine meanwhile (the
// load:busy variants): the competition adaptive's spinning must notice.
// `carry_wakes`: HsmOptions::carry_wakes (the carry_wakes:1 variants).
void RoundTrip(benchmark::State& state, ioreq::Strategy strategy,
               ioreq::Topology topology, bool polling,
               const ioreq::Placement& placement, int busy_processes = 0,
               bool carry_wakes = false) {
  if (SkipWhereRefused(state, ioreq::CheckStrategySupported(strategy))) return;
  ioreq::ScopedPin pin(placement.vcpu_cpus);  // this thread is the vCPU
  // ...for this run only: afterwards it no longer counts as a waiter to the
  // adaptive doorbells of the runs that follow, whose threads it only joins.
  ioreq::AdaptiveWaiterScope waits_here;
  OneVcpuSystem sys(strategy, topology, placement, carry_wakes);
  ioreq::BusyLoad busy(busy_processes);
  const ioreq::IoAccess timed = ioreq::MmioRead(kTimedRegister, 4);
  const ioreq::IoAccess stamped = ioreq::MmioRead(kStampedRegister, 4);
  LatencyHistogram h;
  const uint64_t syscalls_before = sys.syscalls();
  const ioreq::SyscallTally calls_before = ioreq::ProcessSyscalls();
  const double cpu_before = ProcessCpuNs();
  // Each hop of a sampled request: vCPU -> dispatcher (kernel topology),
  // -> the client's handler, -> back to the vCPU (completion and its wake).
  LatencyHistogram to_dispatcher, to_client, back;
  const bool kernel = topology == ioreq::Topology::kKernel;
  int64_t i = 0;
  for (auto _ : state) {
    const bool sampled = ++i % kHopSample == 0;
    const int64_t start = absl::GetCurrentTimeNanos();
    absl::StatusOr<uint64_t> v = sys.hv.EmulateAccess(
        sys.vm, 0, sampled ? stamped : timed, polling, absl::Seconds(30));
    const int64_t done = absl::GetCurrentTimeNanos();
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      break;
    }
    if (!sampled) {
      h.Record(done - start);
      continue;
    }
    const int64_t handled = sys.stamps->handled.load(std::memory_order_relaxed);
    const int64_t reached = kernel ? sys.stamps->dispatched.load(std::memory_order_relaxed)
                                   : start;
    if (kernel) to_dispatcher.Record(std::max<int64_t>(0, reached - start));
    to_client.Record(std::max<int64_t>(0, handled - reached));
    back.Record(std::max<int64_t>(0, done - handled));
  }
  const double n = std::max<double>(1, state.iterations());
  ReportTail(state, h);
  if (kernel) state.counters["hop_to_dispatcher_p50_ns"] = to_dispatcher.Percentile(50);
  state.counters["hop_to_client_p50_ns"] = to_client.Percentile(50);
  state.counters["hop_back_p50_ns"] = back.Percentile(50);
  if (busy_processes == 0) {  // the raw baseline ran on an idle machine
    state.counters["ratio_to_raw"] =
        h.Percentile(50) /
        BaselineMedianNs(BaselineFor(ioreq::StrategyName(strategy)), placement);
  }
  state.counters["cpu_ns_per_request"] = (ProcessCpuNs() - cpu_before) / n;
  state.counters["syscalls_per_request"] =
      static_cast<double>(sys.syscalls() - syscalls_before) / n;
  ReportSyscallKinds(state, ioreq::ProcessSyscalls() - calls_before, n);
}

// ------------------------------------------------------------ throughput

void Throughput(benchmark::State& state, const StressConfig& config) {
  StressFamily(state, config);
}

// ------------------------------------------------------------ range lookup

void RangeLookup(benchmark::State& state, bool use_index, int ranges) {
  ioreq::RangeIndex index;
  ioreq::KernelRangeList list;
  // Non-overlapping 4 KiB ranges, one client each, as devices have them.
  for (int i = 0; i < ranges; ++i) {
    const ioreq::IoRange r{ioreq::kTypeMmio, 0x100000ull * i,
                           0x100000ull * i + 0xFFF};
    index.Add(static_cast<uint64_t>(i + 1), r);
    list.Add(static_cast<uint64_t>(i + 1), r);
  }
  std::mt19937_64 rng(1);
  std::vector<uint64_t> addrs(4096);
  for (auto& a : addrs) a = 0x100000ull * (rng() % ranges) + (rng() % 0x1000 & ~7ull);
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t a = addrs[i++ & 4095];
    auto owner = use_index ? index.Find(ioreq::kTypeMmio, a, 4)
                           : list.Find(ioreq::kTypeMmio, a, 4);
    benchmark::DoNotOptimize(owner);
  }
}

// ------------------------------------------------------------ slot checks

void SlotCheck(benchmark::State& state, bool garbage) {
  std::mt19937_64 rng(2);
  std::vector<ioreq::IoRequest> slots(256);
  for (auto& s : slots) {
    if (garbage) {
      auto* bytes = reinterpret_cast<uint64_t*>(&s);
      for (size_t w = 0; w < sizeof(s) / 8; ++w) bytes[w] = rng();
    } else {
      ioreq::EncodeAccess(ioreq::MmioWrite(0xF0000000 + (rng() % 4096) * 8, 8, rng()), s);
      s.processed = ioreq::kStatePending;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    const ioreq::IoRequest& s = slots[i++ & 255];
    benchmark::DoNotOptimize(ioreq::CheckSlot(s));
    benchmark::DoNotOptimize(ioreq::DecodeAccess(s));
  }
}

void HistogramRecord(benchmark::State& state) {
  LatencyHistogram h;
  std::mt19937_64 rng(3);
  std::vector<uint64_t> values(4096);
  for (auto& v : values) v = rng() >> (rng() % 48);
  size_t i = 0;
  for (auto _ : state) h.Record(values[i++ & 4095]);
  benchmark::DoNotOptimize(h.count());
}

// ------------------------------------------------------------ registration

void RegisterAll() {
  using ioreq::Strategy;
  using ioreq::Topology;
  const Primitive prims[] = {Primitive::kSpin, Primitive::kFutex,
                             Primitive::kEventfd, Primitive::kUringMsg,
                             Primitive::kUringRead};
  // Placements: unpinned (the names without /pin:, as before placements
  // existed, so runs compare across versions), all threads on one CPU, and
  // the vCPU and the HSM on two (where this process may use two).
  std::vector<ioreq::Placement> placements = {ioreq::Placement()};
  for (const char* name : {"same-core", "cross-core"}) {
    absl::StatusOr<ioreq::Placement> p = ioreq::ParsePlacement(name);
    if (p.ok()) placements.push_back(*p);
  }
  auto pinned = [](std::string name, const ioreq::Placement& p) {
    if (p.pinned()) absl::StrAppend(&name, "/pin:", p.name);
    return name;
  };
  for (const ioreq::Placement& placement : placements) {
    for (Primitive p : prims) {
      benchmark::RegisterBenchmark(
          pinned(Name("Primitive", {{"impl", "raw"}, {"primitive", PrimitiveName(p)}}),
                 placement)
              .c_str(),
          [p, placement](benchmark::State& s) { RawPrimitive(s, p, placement); })
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(
        pinned(Name("Primitive", {{"impl", "raw_ring3"}, {"primitive", "futex"}}),
               placement)
            .c_str(),
        [placement](benchmark::State& s) { RawFutexRing3(s, placement); })
        ->UseRealTime();
  }
  auto doorbell = [](const char* prim, auto fn) {
    benchmark::RegisterBenchmark(
        Name("Primitive", {{"impl", "doorbell"}, {"primitive", prim}}).c_str(), fn)
        ->UseRealTime();
  };
  doorbell("spin", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::SpinDoorbell>(s, Primitive::kSpin);
  });
  doorbell("futex", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::FutexDoorbell>(s, Primitive::kFutex);
  });
  doorbell("eventfd", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::EventfdDoorbell>(s, Primitive::kEventfd);
  });
  doorbell("uring_msg", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::UringDoorbell>(s, Primitive::kUringMsg);
  });
  doorbell("uring_read", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::UringEventfdDoorbell>(s, Primitive::kUringRead);
  });
  doorbell("adaptive", [](benchmark::State& s) {
    DoorbellPingPong<ioreq::AdaptiveDoorbell>(s, Primitive::kSpin);
  });

  for (const ioreq::Placement& placement : placements) {
    for (const std::string& name : ioreq::StrategyNames()) {
      const Strategy strategy = *ioreq::ParseStrategy(name);
      for (Topology topology : {Topology::kKernel, Topology::kDirect}) {
        for (bool polling : {false, true}) {
          benchmark::RegisterBenchmark(
              pinned(Name("RoundTrip", {{"strategy", name},
                                        {"topology", ioreq::TopologyName(topology)},
                                        {"completion", polling ? "polling" : "notify"}}),
                     placement)
                  .c_str(),
              [=](benchmark::State& s) {
                RoundTrip(s, strategy, topology, polling, placement);
              })
              ->UseRealTime()
              ->MinTime(0.3);
        }
      }
    }
    // Each uring wake carried by its waker's next sleep (carry_wakes:1),
    // beside the same round trip without (above).
    for (Topology topology : {Topology::kKernel, Topology::kDirect}) {
      benchmark::RegisterBenchmark(
          pinned(Name("RoundTrip", {{"strategy", "uring"},
                                    {"topology", ioreq::TopologyName(topology)},
                                    {"completion", "notify"},
                                    {"carry_wakes", "1"}}),
                 placement)
              .c_str(),
          [=](benchmark::State& s) {
            RoundTrip(s, Strategy::kUring, topology, /*polling=*/false, placement,
                      /*busy_processes=*/0, /*carry_wakes=*/true);
          })
          ->UseRealTime()
          ->MinTime(0.3);
    }
  }

  // Beside one busy process of another program (unpinned, notified): does
  // a strategy notice the competition? Issue 14's "adaptive never loses".
  for (const std::string& name : ioreq::StrategyNames()) {
    const Strategy strategy = *ioreq::ParseStrategy(name);
    for (Topology topology : {Topology::kKernel, Topology::kDirect}) {
      benchmark::RegisterBenchmark(
          Name("RoundTrip", {{"strategy", name},
                             {"topology", ioreq::TopologyName(topology)},
                             {"completion", "notify"},
                             {"load", "busy"}})
              .c_str(),
          [=](benchmark::State& s) {
            RoundTrip(s, strategy, topology, /*polling=*/false, ioreq::Placement{},
                      /*busy_processes=*/1);
          })
          ->UseRealTime()
          ->MinTime(0.3);
    }
  }

  // A configuration in two sweeps (say 1 VM x 2 vCPUs) is registered once.
  auto registered = std::make_shared<std::set<std::string>>();
  auto throughput = [registered](StressConfig c, const char* rate) {
    std::string name = Name("Throughput", {{"strategy", ioreq::StrategyName(c.strategy)},
                             {"topology", ioreq::TopologyName(c.topology)},
                             {"vms", absl::StrCat(c.vms)},
                             {"vcpus", absl::StrCat(c.vcpus)},
                             {"clients", absl::StrCat(c.clients)}});
    if (rate != nullptr) absl::StrAppend(&name, "/rate:", rate);
    if (c.service_poll > absl::ZeroDuration()) {
      absl::StrAppend(&name, "/service_poll:",
                      absl::ToInt64Microseconds(c.service_poll), "us");
    }
    if (c.carry_wakes) absl::StrAppend(&name, "/carry_wakes:1");
    // Names without /profile: ran the hardened profile.
    if (c.profile != ioreq::Profile::kHardened) {
      absl::StrAppend(&name, "/profile:", ioreq::ProfileName(c.profile));
    }
    if (!registered->insert(name).second) return;
    c.seconds = 0.4;
    c.completion_timeout = absl::Seconds(30);
    benchmark::RegisterBenchmark(name.c_str(),
                                 [c](benchmark::State& s) { Throughput(s, c); })
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  };
  for (Strategy strategy : ioreq::kAllStrategies) {
    for (int vcpus : {1, 2, 4, 8, 16}) {
      StressConfig c;
      c.strategy = strategy;
      c.vcpus = vcpus;
      c.clients = 1;
      throughput(c, nullptr);
    }
  }
  for (Strategy strategy : {Strategy::kFutex, Strategy::kAdaptive}) {
    for (int vcpus : {1, 4, 16}) {
      StressConfig c;
      c.strategy = strategy;
      c.topology = Topology::kDirect;
      c.vcpus = vcpus;
      c.clients = 1;
      throughput(c, nullptr);
    }
    for (int vms : {1, 2, 3, 4}) {
      StressConfig c;
      c.strategy = strategy;
      c.vms = vms;
      c.vcpus = 2;
      c.clients = 1;
      throughput(c, nullptr);
    }
    for (int clients : {1, 2, 4, 8}) {
      StressConfig c;
      c.strategy = strategy;
      c.vcpus = 4;
      c.clients = clients;
      throughput(c, nullptr);
    }
  }
  for (Strategy strategy :
       {Strategy::kEventfd, Strategy::kFutex, Strategy::kAdaptive}) {
    StressConfig c;
    c.strategy = strategy;
    c.vcpus = 4;
    c.clients = 2;
    c.offered_rate_per_vcpu = 2000;
    throughput(c, "8000");
  }
  // Scale in VMs: 1 to 64 VMs of 16 vCPUs (up to 1,024 vCPU threads on a
  // few cores), futex, both topologies: CPU per request as VMs are added,
  // and the kernel dispatcher's scan (slots_scanned_per_request).
  for (Topology topology : ioreq::kAllTopologies) {
    for (int vms : {1, 4, 16, 64}) {
      StressConfig c;
      c.strategy = Strategy::kFutex;
      c.topology = topology;
      c.vms = vms;
      c.vcpus = 16;
      c.clients = 1;
      throughput(c, nullptr);
    }
  }
  // The system-call floor (docs/performance.md): at 16 vCPUs each request
  // must cost its vCPU a sleep and a wake; the dispatcher's and the
  // clients' sleeps and wakes are what polling after work
  // (HsmOptions::service_poll) can share. Every blocking strategy, both
  // topologies, with and without it.
  for (Strategy strategy :
       {Strategy::kEventfd, Strategy::kUring, Strategy::kFutex}) {
    for (Topology topology : ioreq::kAllTopologies) {
      for (int poll_us : {0, 20}) {
        StressConfig c;
        c.strategy = strategy;
        c.topology = topology;
        c.vcpus = 16;
        c.clients = 1;
        c.service_poll = absl::Microseconds(poll_us);
        throughput(c, nullptr);
      }
    }
  }
  // A wake carried by a sleep (StressConfig::carry_wakes): with io_uring a
  // thread's wakes ride in the io_uring_enter that puts it to sleep. At 1
  // and 16 vCPUs, both topologies, beside the same runs without it; at 16
  // also with the service poll, which shares the dispatcher's and the
  // clients' sleeps among more requests (fewer calls, more CPU: the floor
  // table shows both).
  for (Topology topology : ioreq::kAllTopologies) {
    for (int vcpus : {1, 16}) {
      StressConfig c;
      c.strategy = Strategy::kUring;
      c.topology = topology;
      c.vcpus = vcpus;
      c.clients = 1;
      throughput(c, nullptr);
      c.carry_wakes = true;
      throughput(c, nullptr);
      if (vcpus == 16) {
        c.service_poll = absl::Microseconds(20);
        throughput(c, nullptr);
      }
    }
  }
  // The acrn profile where the load differs from hardened (docs/profiles.md:
  // the vPCI answers some accesses, the device model scans, a vCPU wakes
  // once), beside the same configurations under hardened above.
  for (Strategy strategy : {Strategy::kFutex, Strategy::kAdaptive}) {
    for (Topology topology : ioreq::kAllTopologies) {
      for (int vcpus : {1, 16}) {
        StressConfig c;
        c.strategy = strategy;
        c.topology = topology;
        c.vcpus = vcpus;
        c.clients = 1;
        throughput(c, nullptr);  // hardened (registered once)
        c.profile = ioreq::Profile::kAcrn;
        throughput(c, nullptr);
      }
    }
  }

  for (int n : {1, 16, 256, 4096}) {
    for (bool index : {true, false}) {
      benchmark::RegisterBenchmark(
          Name("RangeLookup", {{"impl", index ? "index" : "linear"}, {"ranges", absl::StrCat(n)}})
              .c_str(),
          [=](benchmark::State& s) { RangeLookup(s, index, n); });
    }
  }
  for (bool garbage : {false, true}) {
    benchmark::RegisterBenchmark(
        Name("SlotCheck", {{"input", garbage ? "garbage" : "valid"}}).c_str(),
        [=](benchmark::State& s) { SlotCheck(s, garbage); });
  }
  benchmark::RegisterBenchmark("HistogramRecord", HistogramRecord);
  RegisterDoorbellFamilies();  // bench/internal/doorbell_families.h
  RegisterKvmFamilies();  // the trapped path (bench/internal/kvm_families.h)
}

std::string GitCommit() {
  // `bazel run` sets BUILD_WORKSPACE_DIRECTORY to the source tree.
  const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  const std::string cmd = absl::StrCat("git -C '", dir ? dir : ".",
                                       "' rev-parse --short HEAD 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "unknown";
  char buf[64] = {0};
  const bool got = fgets(buf, sizeof(buf), p) != nullptr;
  pclose(p);
  return got ? std::string(absl::StripAsciiWhitespace(buf)) : "unknown";
}

void AddContext() {
  // The machine, for judging whether two runs compare
  // (bench/internal/machine_fingerprint.h).
  for (const auto& [key, value] : MachineFingerprint()) {
    benchmark::AddCustomContext(key, value);
  }
  benchmark::AddCustomContext("compiler", absl::StrCat(
#if defined(__clang__)
      "clang "
#else
      "gcc "
#endif
      __VERSION__));
#if defined(NDEBUG) && defined(__OPTIMIZE__)
  benchmark::AddCustomContext("build_mode", "opt");
#else
  benchmark::AddCustomContext("build_mode", "debug");
#endif
  benchmark::AddCustomContext("commit", GitCommit());
  // Each benchmark's placement is in its name (/pin:same-core,
  // /pin:cross-core; unpinned where absent), with the CPUs it may use here.
  benchmark::AddCustomContext("pinning", "per benchmark: /pin: in the name, unpinned where absent");
  absl::StatusOr<ioreq::Placement> same = ioreq::ParsePlacement("same-core");
  absl::StatusOr<ioreq::Placement> cross = ioreq::ParsePlacement("cross-core");
  benchmark::AddCustomContext(
      "placements",
      absl::StrCat("same-core: vCPU and HSM on CPU ",
                   same.ok() ? absl::StrJoin(same->vcpu_cpus, ",") : "-",
                   "; cross-core: vCPU on CPU ",
                   cross.ok() ? absl::StrJoin(cross->vcpu_cpus, ",") : "-",
                   ", HSM on CPU ",
                   cross.ok() ? absl::StrJoin(cross->hsm_cpus, ",") : "-"));
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // Bad flags exit 2 with one line, before the library's own leniency.
  if (absl::Status valid = bench::ValidateBenchmarkArgs(
          std::vector<std::string>(argv + 1, argv + argc), {"--quick", "--help"});
      !valid.ok()) {
    std::fprintf(stderr, "ioreq_benchmark: %s\n",
                 std::string(valid.message()).c_str());
    return 2;
  }
  // --quick: a representative subset in under 30 s.
  std::vector<char*> args;
  std::string quick_filter =
      "--benchmark_filter=Primitive/impl:raw|"
      "RoundTrip/strategy:(futex|adaptive|eventfd)/topology:(kernel|direct)/completion:notify|"
      "Throughput/strategy:(futex|adaptive)/topology:kernel/vms:1/vcpus:(1|16)/clients:1/|"
      "RangeLookup/impl:(index|linear)/ranges:(16|4096)|SlotCheck|HistogramRecord|"
      "KvmExit|KvmRoundTrip/strategy:(futex|adaptive)/topology:(kernel|direct)/"
      "completion:notify/exit:mmio|KvmDoorbell|"
      "DoorbellWrite/path:(ioeventfd|posted|slot)/profile:hardened/topology:kernel";
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      args.push_back(quick_filter.data());
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  bench::AddContext();
  bench::RegisterAll();
  // Every family times its runs with Abseil's clock.
  bench::CalibrateAbseilClock();
  // The console (unless another display format was asked for) shows the
  // runs without their encoded histograms; colour as Google Benchmark's
  // own default would have it.
  bool console = true, color = isatty(STDOUT_FILENO) != 0, tabular = false;
  for (int i = 1; i < n; ++i) {
    const std::string arg = args[i];
    if (arg.rfind("--benchmark_format=", 0) == 0) {
      console = arg == "--benchmark_format=console";
    } else if (arg.rfind("--benchmark_color=", 0) == 0) {
      const std::string v = arg.substr(18);
      color = v == "true" || v == "yes" || v == "1" || (v == "auto" && color);
    } else if (arg.rfind("--benchmark_counters_tabular=", 0) == 0) {
      const std::string v = arg.substr(29);
      tabular = v == "true" || v == "yes" || v == "1";
    }
  }
  bench::ConsoleWithoutHistograms display(static_cast<benchmark::ConsoleReporter::OutputOptions>(
      (color ? benchmark::ConsoleReporter::OO_Color : 0) |
      (tabular ? benchmark::ConsoleReporter::OO_Tabular : 0)));
  if (console) {
    benchmark::RunSpecifiedBenchmarks(&display);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
