// bench/internal/benchmark_common.h: what every benchmark family reports
// the same way.
//
// The tail counters from a latency histogram, process CPU time, a
// `Family/key:value/...` name, and the body of a family that runs the
// checked stress load once and reports its figures (Throughput and
// KvmThroughput). Internal to bench/ioreq_benchmark.
//
// Example:
//   LatencyHistogram h;
//   for (auto _ : state) { ...; h.Record(ns); }
//   bench::ReportTail(state, h);
#ifndef IOREQ_BENCH_INTERNAL_BENCHMARK_COMMON_H_
#define IOREQ_BENCH_INTERNAL_BENCHMARK_COMMON_H_

#include <time.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/latency_histogram.h"
#include "bench/stress_workload.h"
#include "benchmark/benchmark.h"
#include "core/notify/syscall_tally.h"

namespace bench {

inline double ProcessCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// p50_ns, p99_ns, p999_ns, max_ns; each value times `scale` (a histogram
// of batches reports per element). With scale 1 the whole histogram goes
// into the run's label (LatencyHistogram::Encode()), where the JSON keeps
// it for the report's distribution charts; the console hides it
// (ConsoleWithoutHistograms).
inline void ReportTail(benchmark::State& state, const LatencyHistogram& h,
                       double scale = 1) {
  state.counters["p50_ns"] = h.Percentile(50) * scale;
  state.counters["p99_ns"] = h.Percentile(99) * scale;
  state.counters["p999_ns"] = h.Percentile(99.9) * scale;
  state.counters["max_ns"] = static_cast<double>(h.max()) * scale;
  if (scale == 1 && h.count() > 0) state.SetLabel(h.Encode());
}

// Where the kernel refuses what a family needs (`offered`, from
// ioreq::CheckStrategySupported() or CheckPrimitiveSupported(): io_uring,
// under a seccomp profile or `kernel.io_uring_disabled`), the family reports
// why and the run goes on with the others. True when it skipped.
inline bool SkipWhereRefused(benchmark::State& state,
                             const absl::Status& offered) {
  if (offered.ok()) return false;
  state.SkipWithError(std::string(offered.message()).c_str());
  return true;
}

// Google Benchmark's console, without the encoded histograms in the labels
// (a few KiB each); the JSON file keeps them.
class ConsoleWithoutHistograms : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown = runs;
    for (Run& run : shown) {
      if (run.report_label.rfind(LatencyHistogram::kEncodingPrefix, 0) == 0) {
        run.report_label.clear();
      }
    }
    benchmark::ConsoleReporter::ReportRuns(shown);
  }
};

// "Family/k1:v1/k2:v2".
inline std::string Name(
    const char* family,
    std::initializer_list<std::pair<const char*, std::string>> kv) {
  std::string name = family;
  for (const auto& [k, v] : kv) absl::StrAppend(&name, "/", k, ":", v);
  return name;
}

// One checked stress run per iteration: its wall time as the iteration
// time (register with UseManualTime()), its figures as counters; a run
// that is not clean is an error, not a figure.
// The doorbells' system calls per request, by kind (core/notify/
// syscall_tally.h): wake_calls, sleep_calls, submit_calls (io_uring
// submits of wake messages) and calls (their sum); with io_uring the wake
// messages per submit and the sleeps that carried held wakes
// (carrying_sleeps_per_request, core/notify/wake_batch.h: counted once, as
// sleeps).
inline void ReportSyscallKinds(benchmark::State& state,
                               const ioreq::SyscallTally& used,
                               double requests) {
  const double n = requests > 0 ? requests : 1;
  state.counters["wake_calls_per_request"] = used.wakes / n;
  state.counters["sleep_calls_per_request"] = used.sleeps / n;
  state.counters["submit_calls_per_request"] = used.submits / n;
  state.counters["calls_per_request"] = used.calls() / n;
  if (used.submits > 0) {
    state.counters["messages_per_submit"] =
        static_cast<double>(used.messages) / used.submits;
  }
  if (used.messages > 0) {
    state.counters["carrying_sleeps_per_request"] = used.carried / n;
  }
}

inline void StressFamily(benchmark::State& state, const StressConfig& config) {
  for (auto _ : state) {
    const ioreq::SyscallTally before = ioreq::ProcessSyscalls();
    absl::StatusOr<StressResult> r = RunStress(config);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    if (!r->clean()) {
      state.SkipWithError("the run lost, duplicated or corrupted requests");
      return;
    }
    state.SetIterationTime(r->elapsed_s);
    ReportTail(state, r->round_trip_ns);
    state.counters["requests_per_s"] = r->requests_per_s();
    state.counters["cpu_ns_per_request"] = r->cpu_ns_per_request();
    state.counters["syscalls_per_request"] = r->syscalls_per_request();
    state.counters["requests"] = static_cast<double>(r->completed);
    // The kernel dispatcher scans every slot of every VM per pass: how
    // that grows with the VMs (the direct topology has no pass).
    if (config.topology == ioreq::Topology::kKernel && r->completed > 0) {
      const double passes = static_cast<double>(r->hsm.dispatch_passes);
      state.counters["passes_per_request"] = passes / r->completed;
      state.counters["slots_scanned_per_request"] =
          passes * config.vms * config.vcpus / r->completed;
    }
    ReportSyscallKinds(state, ioreq::ProcessSyscalls() - before,
                       static_cast<double>(r->completed));
  }
}

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_BENCHMARK_COMMON_H_
