// The stress watchdog: a thread that stops beating is named with where it
// was, a run past its bound is reported, each with what the describer adds,
// and the process ends with exit code 1; a finished thread, or one that
// keeps beating, is never reported.
#include "bench/internal/watchdog.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace bench {
namespace stress_internal {
namespace {

constexpr absl::Duration kLong = absl::Hours(1);

TEST(WatchdogDeathTest, AThreadThatStopsBeatingIsNamedWithWhereItWas) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Watchdog watchdog(absl::Milliseconds(200), kLong);
        watchdog.Add("vCPU 3.1")->Beat("WaitForCompletion");
        watchdog.SetDescriber([] { return std::string("VM 3 slots: 1 PENDING"); });
        absl::SleepFor(absl::Seconds(10));
      },
      ::testing::ExitedWithCode(1),
      "^stress: watchdog: thread 'vCPU 3.1' made no progress for [0-9.]+ s, "
      "in WaitForCompletion; VM 3 slots: 1 PENDING\n$");
}

TEST(WatchdogDeathTest, ARunPastItsBoundIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Watchdog watchdog(kLong, absl::Milliseconds(200));
        absl::SleepFor(absl::Seconds(10));
      },
      ::testing::ExitedWithCode(1),
      "^stress: watchdog: the run did not finish in time \\(a thread "
      "hangs\\)\n$");
}

// Three times the hang bound passes; the thread that beat throughout (50
// times a bound, so a loaded machine's scheduling delay does not read as a
// hang) and the one that finished at once are both left alone.
TEST(Watchdog, FinishedAndBeatingThreadsAreNotReported) {
  Watchdog watchdog(absl::Seconds(1), kLong);
  Heartbeat* finished = watchdog.Add("finished");
  finished->finished.store(true, std::memory_order_relaxed);
  Heartbeat* beating = watchdog.Add("beating");
  const absl::Time end = absl::Now() + absl::Seconds(3);
  while (absl::Now() < end) {
    beating->Beat("working");
    absl::SleepFor(absl::Milliseconds(20));
  }
  beating->finished.store(true, std::memory_order_relaxed);
  SUCCEED();  // a report would have ended the process with exit code 1
}

// A heartbeat's address stays valid as more are added (the deque's).
TEST(Watchdog, HeartbeatsKeepTheirAddresses) {
  Watchdog watchdog(kLong, kLong);
  Heartbeat* first = watchdog.Add("first");
  for (int i = 0; i < 1000; ++i) watchdog.Add("more");
  first->Beat("still here");
  EXPECT_EQ(first->name, "first");
  EXPECT_STREQ(first->where.load(), "still here");
}

}  // namespace
}  // namespace stress_internal
}  // namespace bench
