// bench/internal/benchmark_flags.h: checks a Google Benchmark command line
// before the library sees it.
//
// Google Benchmark 1.7.1 is lenient where this project promises exit code
// 2 and one line: it prints its usage and exits 0 on an unknown
// --benchmark_format, aborts on --benchmark_repetitions=-3, runs nothing
// (exit 0) on a filter that is not a regular expression, takes any word as
// a true boolean, and exits 1 when --benchmark_out cannot be written.
// ValidateBenchmarkArgs() checks every flag of that version first.
//
// Example:
//   absl::Status ok = bench::ValidateBenchmarkArgs(args);
//   if (!ok.ok()) { fprintf(stderr, "%s\n", ...); return 2; }
//   benchmark::Initialize(&argc, argv);
#ifndef IOREQ_BENCH_INTERNAL_BENCHMARK_FLAGS_H_
#define IOREQ_BENCH_INTERNAL_BENCHMARK_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace bench {

// `args` without the program name. Accepts the flags of Google Benchmark
// 1.7.1 with values it would honour, plus any flag in `own_flags` (given
// without value, e.g. "--quick"). The error is one line naming the flag and
// what it accepts.
absl::Status ValidateBenchmarkArgs(const std::vector<std::string>& args,
                                   const std::vector<std::string>& own_flags);

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_BENCHMARK_FLAGS_H_
