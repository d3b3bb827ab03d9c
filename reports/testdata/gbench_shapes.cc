// reports/testdata/gbench_shapes.cc: the program behind the gbench_*.json
// fixtures, every shape of output Google Benchmark 1.7.1 writes that
// reports/compare.py must read: a complexity fit (_BigO, _RMS), a run that
// reports an error, user counters (one a rate), CPU time beside real time.
// Regenerate (a variant that is slower by SLOWDOWN, and one with only
// aggregates):
//   g++ -O2 -DSLOWDOWN=1 gbench_shapes.cc -lbenchmark -lpthread -o shapes
//   ./shapes --benchmark_repetitions=3 --benchmark_out=gbench_shapes.json \
//       --benchmark_out_format=json
//   ./shapes --benchmark_repetitions=3 --benchmark_report_aggregates_only=true ...
#include <algorithm>
#include <numeric>
#include <vector>

#include <benchmark/benchmark.h>

#ifndef SLOWDOWN
#define SLOWDOWN 1
#endif

static void Sort(benchmark::State& state) {
  std::vector<int> v(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < SLOWDOWN; ++i) {
      std::iota(v.rbegin(), v.rend(), 0);
      std::sort(v.begin(), v.end());
    }
    benchmark::DoNotOptimize(v.data());
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(Sort)->RangeMultiplier(8)->Range(64, 32768)->Complexity();

static void Sum(benchmark::State& state) {
  std::vector<int> v(4096, 1);
  long items = 0;
  for (auto _ : state) {
    for (int i = 0; i < SLOWDOWN; ++i) benchmark::DoNotOptimize(std::accumulate(v.begin(), v.end(), 0L));
    items += v.size();
  }
  state.counters["items_per_s"] = benchmark::Counter(items, benchmark::Counter::kIsRate);
  state.counters["p99_ns"] = 42.0 * SLOWDOWN;
}
BENCHMARK(Sum);

static void Broken(benchmark::State& state) {
  for (auto _ : state) {
    state.SkipWithError("the device went away");
    break;
  }
}
BENCHMARK(Broken);

BENCHMARK_MAIN();
