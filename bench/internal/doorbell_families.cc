#include "bench/internal/doorbell_families.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "bench/internal/benchmark_common.h"
#include "bench/latency_histogram.h"
#include "benchmark/benchmark.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"

namespace bench {
namespace {

constexpr uint64_t kDoorbell = 0xD0000000;

enum class Path { kSlot, kIoeventfd, kPosted };
const char* PathName(Path p) {
  switch (p) {
    case Path::kSlot: return "slot";
    case Path::kIoeventfd: return "ioeventfd";
    case Path::kPosted: return "posted";
  }
  return "?";
}

// The slot path's p50 per (profile, topology), for ratio_to_slot.
std::mutex slot_mu;
std::map<std::pair<int, int>, double> slot_p50;  // guarded by slot_mu

void DoorbellWrite(benchmark::State& state, Path path, ioreq::Profile profile,
                   ioreq::Topology topology) {
  ioreq::HsmOptions options;
  options.topology = topology;
  ioreq::System sys(ioreq::Strategy::kFutex, options, profile);
  const uint16_t vm = sys.AddVm(1).value();
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::atomic<uint64_t> client_writes{0};
  absl::Status set_up = absl::OkStatus();
  if (path == Path::kSlot) {
    absl::StatusOr<ioreq::ClientId> c = sys.hsm.CreateClient(
        vm, "doorbell",
        [&](ioreq::IoAccess& a) {
          if (a.direction == ioreq::kDirWrite) client_writes.fetch_add(1);
          return absl::OkStatus();
        },
        false);
    set_up = c.ok() ? sys.hsm.AddRange(*c, ioreq::kTypeMmio, kDoorbell,
                                       kDoorbell + 3)
                    : c.status();
  } else if (path == Path::kIoeventfd) {
    ioreq::IoeventfdArgs args{};
    args.fd = static_cast<uint32_t>(fd);
    args.addr = kDoorbell;
    args.len = 4;
    set_up = sys.hsm.Ioeventfd(vm, args);
  } else {
    ioreq::PostedArgs args;
    args.type = ioreq::kTypeMmio;
    args.address = kDoorbell;
    args.fd = static_cast<uint32_t>(fd);
    set_up = sys.hsm.AssignPosted(vm, args).status();
  }
  if (!set_up.ok()) {
    state.SkipWithError(set_up.ToString().c_str());
    close(fd);
    return;
  }
  LatencyHistogram h;
  const uint64_t syscalls_before = sys.hsm.syscalls() + sys.hv.syscalls();
  const ioreq::SyscallTally calls_before = ioreq::ProcessSyscalls();
  const double cpu_before = ProcessCpuNs();
  uint64_t writes = 0;
  for (auto _ : state) {
    const int64_t start = absl::GetCurrentTimeNanos();
    absl::StatusOr<uint64_t> v = sys.hv.EmulateAccess(
        vm, 0, ioreq::MmioWrite(kDoorbell, 4, writes), false,
        absl::Seconds(30));
    h.Record(absl::GetCurrentTimeNanos() - start);
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      break;
    }
    ++writes;
  }
  const double n = std::max<double>(1, state.iterations());
  ReportTail(state, h);
  state.counters["cpu_ns_per_request"] = (ProcessCpuNs() - cpu_before) / n;
  // Counted before the check below, whose drain is not the guest's cost.
  state.counters["syscalls_per_request"] =
      static_cast<double>(sys.hsm.syscalls() + sys.hv.syscalls() -
                          syscalls_before) / n;
  ReportSyscallKinds(state, ioreq::ProcessSyscalls() - calls_before, n);
  // Delivered exactly once, every one.
  sys.hsm.DrainPosted(vm).IgnoreError();
  uint64_t delivered = client_writes.load();
  uint64_t signals = 0;
  if (read(fd, &signals, sizeof(signals)) == sizeof(signals)) delivered += signals;
  close(fd);
  if (delivered != writes) {
    state.SkipWithError(absl::StrCat(writes, " doorbell writes, ", delivered,
                                     " delivered").c_str());
    return;
  }
  const auto key = std::make_pair(static_cast<int>(profile),
                                  static_cast<int>(topology));
  std::lock_guard<std::mutex> lock(slot_mu);
  if (path == Path::kSlot) slot_p50[key] = h.Percentile(50);
  auto it = slot_p50.find(key);
  if (it != slot_p50.end() && it->second > 0) {
    state.counters["ratio_to_slot"] = h.Percentile(50) / it->second;
  }
}

}  // namespace

void RegisterDoorbellFamilies() {
  for (ioreq::Profile profile : ioreq::kAllProfiles) {
    for (ioreq::Topology topology : ioreq::kAllTopologies) {
      // The slot path first: the others' ratio_to_slot needs it.
      for (Path path : {Path::kSlot, Path::kIoeventfd, Path::kPosted}) {
        benchmark::RegisterBenchmark(
            Name("DoorbellWrite", {{"path", PathName(path)},
                                   {"profile", ioreq::ProfileName(profile)},
                                   {"topology", ioreq::TopologyName(topology)}})
                .c_str(),
            [=](benchmark::State& s) {
              DoorbellWrite(s, path, profile, topology);
            })
            ->UseRealTime()
            ->MinTime(0.3);
      }
    }
  }
}

}  // namespace bench
