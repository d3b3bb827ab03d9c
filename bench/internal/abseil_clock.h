// bench/internal/abseil_clock.h: Abseil's clock, calibrated before anything
// is timed with it.
//
// absl::GetCurrentTimeNanos() (and absl::Now()) reads the kernel's clock
// under a process-wide spin lock until it has calibrated the cycle counter
// against it, which takes a first reading and a second one at least 500 ms
// later; from then on a read is the cycle counter and a few loads. Measured
// on the 2-core AMD EPYC VM (Linux 6.18.44, Debian's Abseil 20220623),
// 2026-11-27, a small program reading the clock 200,000 times: 47.9 ns a
// read alone and 589.8 ns while a thread on the other CPU read it too
// (both queue on the lock) before calibration, 9.5 and 10.8 ns after. A
// benchmark times every request with this clock, and the model reads it on
// both sides of a hand-off (adaptive's spin window, the service poll): so
// for its first half second every process measured itself with a clock up
// to 60 times slower, on whichever runs came first. CalibrateAbseilClock()
// takes the two readings, half a second apart, before the first run.
//
// Example:
//   bench::CalibrateAbseilClock();  // once, before the first timed run
#ifndef IOREQ_BENCH_INTERNAL_ABSEIL_CLOCK_H_
#define IOREQ_BENCH_INTERNAL_ABSEIL_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace bench {

// Returns once Abseil's clock has calibrated: the first call in a process
// sleeps 510 ms, later calls return at once.
inline void CalibrateAbseilClock() {
  static std::once_flag once;
  std::call_once(once, [] {
    absl::GetCurrentTimeNanos();
    absl::SleepFor(absl::Milliseconds(510));
    absl::GetCurrentTimeNanos();
  });
}

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_ABSEIL_CLOCK_H_
