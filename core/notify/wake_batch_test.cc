// WakeBatch (core/notify/wake_batch.h): held wakes go out with the sleep, at
// the batch's end, or before any wait that cannot carry them; none is lost.
#include "core/notify/wake_batch.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/strategy.h"
#include "core/notify/syscall_tally.h"
#include "core/notify/testing/asleep.h"
#include "core/notify/testing/sleep_calls.h"
#include "core/notify/testing/sleeping_bells.h"
#include "core/notify/uring_doorbell.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace ioreq {
namespace {

template <typename Bell>
class WakeBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { IOREQ_SKIP_UNLESS_OFFERED(StrategyOf<Bell>()); }
};

using AllBells = AllDoorbells<::testing::Types>;
TYPED_TEST_SUITE(WakeBatchTest, AllBells);

// Both threads keep a batch open for the whole exchange, as a vCPU and a
// client do: each ring is followed by the ringer's own wait.
TYPED_TEST(WakeBatchTest, PingPongInsideBatchesLosesNoWakeup) {
  constexpr int kRounds = 2000;
  TypeParam ping, pong;
  std::atomic<int> seen{0};
  auto wait_until = [&](TypeParam& bell, int value, int round) {
    while (seen.load(std::memory_order_acquire) < value) {
      if (!bell.WaitFor(absl::Seconds(10))) {
        std::fprintf(stderr, "round %d: no wake-up in 10 s\n", round);
        std::abort();  // a lost wake: the other side may wait for ever
      }
    }
  };
  std::thread other([&] {
    WakeBatch batch;
    for (int i = 0; i < kRounds; ++i) {
      wait_until(ping, 2 * i + 1, i);
      seen.store(2 * i + 2, std::memory_order_release);
      pong.Ring();
    }
  });
  {
    WakeBatch batch;
    for (int i = 0; i < kRounds; ++i) {
      seen.store(2 * i + 1, std::memory_order_release);
      ping.Ring();
      wait_until(pong, 2 * i + 2, i);
    }
  }
  other.join();
  EXPECT_EQ(seen.load(), 2 * kRounds);
}

// A thread asleep on `bell` until rung; `woke` says when it returned.
struct Sleeper {
  template <typename Bell>
  explicit Sleeper(Bell& bell)
      : thread([this, &bell] {
          tid.store(gettid());
          bell.Wait();
          woke.store(true, std::memory_order_release);
        }) {
    EXPECT_TRUE(AwaitAsleep(tid, SleepCall(bell, Timed::kNo), absl::Seconds(10)))
        << "the sleeper never slept";
  }
  ~Sleeper() { thread.join(); }
  // Whether the sleeper woke, waiting up to `limit` for it.
  bool WokeWithin(absl::Duration limit) const {
    const absl::Time deadline = absl::Now() + limit;
    while (!woke.load(std::memory_order_acquire) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return woke.load(std::memory_order_acquire);
  }
  std::atomic<bool> woke{false};
  std::atomic<pid_t> tid{0};
  std::thread thread;
};

bool UringMissing() { return !ProbeUring().ok(); }

TEST(WakeBatch, AUringWakeIsHeldAndGoesOutInTheSleepThatFollows) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell target, mine;
  Sleeper sleeper(target);
  std::thread answer([&] {
    while (!sleeper.woke.load(std::memory_order_acquire)) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    absl::SleepFor(absl::Milliseconds(20));  // the ringer is asleep again
    mine.Ring();
  });
  SyscallTally used;
  {
    WakeBatch batch;
    const SyscallTally before = ProcessSyscalls();
    target.Ring();
    EXPECT_EQ(WakeBatch::held(), 1u);
    absl::SleepFor(absl::Milliseconds(30));
    EXPECT_FALSE(sleeper.woke.load(std::memory_order_acquire))
        << "a held wake went out before the sleep";
    EXPECT_TRUE(mine.WaitFor(absl::Seconds(10)));
    used = ProcessSyscalls() - before;
    EXPECT_EQ(WakeBatch::held(), 0u);
  }
  answer.join();
  EXPECT_TRUE(sleeper.woke.load());
  // The ringer made one call, a sleep that carried the wake. The answering
  // thread has no batch open: its wake of `mine` is a submit of its own.
  EXPECT_EQ(used.sleeps, 1u);
  EXPECT_EQ(used.carried, 1u);
  EXPECT_EQ(used.messages, 2u);  // the held wake and the answer
  EXPECT_EQ(used.submits, 1u);   // the answer's
}

TEST(WakeBatch, TheBatchsEndSendsWhatIsHeld) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell target;
  Sleeper sleeper(target);
  {
    WakeBatch outer;
    {
      WakeBatch inner;
      target.Ring();
    }
    absl::SleepFor(absl::Milliseconds(30));
    EXPECT_EQ(WakeBatch::held(), 1u) << "an inner batch's end sent it";
    EXPECT_FALSE(sleeper.woke.load(std::memory_order_acquire));
  }
  EXPECT_EQ(WakeBatch::held(), 0u);
  EXPECT_TRUE(sleeper.WokeWithin(absl::Seconds(10)));
}

// A batch opened with kNone (an option turned off) holds nothing, on its own
// or inside another batch, and its end leaves the outer batch's wakes held.
TEST(WakeBatch, ABatchThatHoldsNothingLeavesWakesAlone) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  {
    UringDoorbell target;
    WakeBatch none(WakeBatch::kNone);
    target.Ring();
    EXPECT_EQ(WakeBatch::held(), 0u) << "a kNone batch held a wake";
  }
  UringDoorbell target;
  Sleeper sleeper(target);
  {
    WakeBatch outer;
    {
      WakeBatch none(WakeBatch::kNone);
    }  // not the outermost end: nothing is sent
    target.Ring();
    EXPECT_EQ(WakeBatch::held(), 1u) << "the kNone batch's end closed the outer";
  }
  EXPECT_EQ(WakeBatch::held(), 0u);
  EXPECT_TRUE(sleeper.WokeWithin(absl::Seconds(10)));
}

// The held wake's target is the only one who would ring `mine`: a wait that
// did not send it first would wait for ever.
template <typename Bell>
void WaitOnAnotherStrategySendsTheHeldWakeFirst() {
  UringDoorbell target;
  Bell mine;
  Sleeper sleeper(target);
  std::thread answer([&] {
    while (!sleeper.woke.load(std::memory_order_acquire)) {
      absl::SleepFor(absl::Microseconds(100));
    }
    mine.Ring();
  });
  {
    WakeBatch batch;
    target.Ring();
    EXPECT_EQ(WakeBatch::held(), 1u);
    EXPECT_TRUE(mine.WaitFor(absl::Seconds(5)));
    EXPECT_EQ(WakeBatch::held(), 0u);
  }  // (sent here at the latest, so that a failure ends)
  answer.join();
}

TEST(WakeBatch, AFutexSleepSendsTheHeldWakeFirst) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  WaitOnAnotherStrategySendsTheHeldWakeFirst<FutexDoorbell>();
}

TEST(WakeBatch, AnEventfdSleepSendsTheHeldWakeFirst) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  WaitOnAnotherStrategySendsTheHeldWakeFirst<EventfdDoorbell>();
}

TEST(WakeBatch, ASpinSendsTheHeldWakeFirst) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  WaitOnAnotherStrategySendsTheHeldWakeFirst<SpinDoorbell>();
}

TEST(WakeBatch, AnAdaptiveWaitSendsTheHeldWakeFirst) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  WaitOnAnotherStrategySendsTheHeldWakeFirst<AdaptiveDoorbell>();
}

TEST(WakeBatch, OtherStrategiesWakesAreNeverHeld) {
  FutexDoorbell futex;
  EventfdDoorbell eventfd;
  Sleeper a(futex);
  Sleeper b(eventfd);
  WakeBatch batch;
  futex.Ring();
  eventfd.Ring();
  EXPECT_EQ(WakeBatch::held(), 0u);
  EXPECT_TRUE(a.WokeWithin(absl::Seconds(10)));
  EXPECT_TRUE(b.WokeWithin(absl::Seconds(10)));
}

// `targets` sleepers rung inside a batch, then a kernel-timed sleep on a
// bell nobody rings: what that took, once every sleeper woke.
SyscallTally RingAllThenSleep(int targets) {
  SleepingBells sleepers(targets);
  UringDoorbell mine;
  SyscallTally used;
  {
    WakeBatch batch;
    const SyscallTally before = ProcessSyscalls();
    for (UringDoorbell* b : sleepers.bells()) b->Ring();
    EXPECT_EQ(WakeBatch::held(), static_cast<uint32_t>(targets));
    // Shorter than kCoarseMin: the kernel times this sleep, so the count
    // holds no MSG_RING of the coarse ticker's (its wake is a submit too).
    EXPECT_FALSE(mine.WaitFor(absl::Milliseconds(10)));
    used = ProcessSyscalls() - before;
  }
  sleepers.Join();
  EXPECT_EQ(sleepers.woke(), targets);
  return used;
}

// More held wakes than a sleep's ring has room for: all go out at once in
// one submit, and the sleep is a plain one.
TEST(WakeBatch, MoreWakesThanASleepCarriesGoOutInOneSubmit) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  const SyscallTally used =
      RingAllThenSleep(notify_internal::kWakesASleepCarries + 8);
  EXPECT_EQ(used.submits, 1u);
  EXPECT_EQ(used.carried, 0u);
}

// As many held wakes as a sleep carries go out with the sleep: one call,
// no submit of their own.
TEST(WakeBatch, AsManyWakesAsASleepCarriesGoOutWithIt) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  const SyscallTally used =
      RingAllThenSleep(notify_internal::kWakesASleepCarries);
  EXPECT_EQ(used.submits, 0u);
  EXPECT_EQ(used.carried, 1u);
}

// A batch's wakes go to the bells rung in it and to no other: a bell whose
// wake went out in an earlier batch is not woken again. Each sleeper sleeps
// twice; `b` is rung only in the first batch.
TEST(WakeBatch, ABatchWakesOnlyTheBellsRungInIt) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell a, b;
  std::atomic<pid_t> a_tid{0}, b_tid{0};
  std::thread a_sleeper([&] {
    a_tid.store(gettid());
    a.Wait();
    a.Wait();
  });
  std::thread b_sleeper([&] {
    b_tid.store(gettid());
    b.Wait();
    b.Wait();
  });
  ASSERT_TRUE(AwaitAsleep(a_tid, SYS_io_uring_enter, absl::Seconds(10)));
  ASSERT_TRUE(AwaitAsleep(b_tid, SYS_io_uring_enter, absl::Seconds(10)));
  {
    WakeBatch batch;
    a.Ring();
    b.Ring();
  }
  // Both asleep in their second wait: a sleep, a wake, a sleep.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((a.syscalls() < 3 || b.syscalls() < 3) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(AwaitAsleep(a_tid, SYS_io_uring_enter, absl::Seconds(10)));
  ASSERT_TRUE(AwaitAsleep(b_tid, SYS_io_uring_enter, absl::Seconds(10)));
  const uint64_t b_before = b.syscalls();
  {
    WakeBatch batch;
    a.Ring();
  }
  a_sleeper.join();
  // A stray wake would have `b` wake, find no ring and sleep again: one
  // more sleep on its count. Give its thread time to run.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(b.syscalls(), b_before) << "b was woken by a wake not for it";
  b.Ring();
  b_sleeper.join();
}

// A sleep with nothing held carries nothing.
TEST(WakeBatch, ASleepWithNothingHeldCarriesNothing) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell mine;
  SyscallTally used;
  {
    WakeBatch batch;
    const SyscallTally before = ProcessSyscalls();
    EXPECT_FALSE(mine.WaitFor(absl::Milliseconds(5)));
    used = ProcessSyscalls() - before;
  }
  EXPECT_EQ(used.sleeps, 1u);
  EXPECT_EQ(used.carried, 0u);
}

// A held wake makes no system call until it goes out, on a thread that
// never notified before (its notifier ring is new).
TEST(WakeBatch, AHeldWakeMakesNoCallUntilItGoesOut) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell target;
  Sleeper sleeper(target);
  SyscallTally while_held, after;
  std::thread fresh([&] {
    const SyscallTally before = ProcessSyscalls();
    {
      WakeBatch batch;
      target.Ring();
      while_held = ProcessSyscalls() - before;
    }
    after = ProcessSyscalls() - before;
  });
  fresh.join();
  EXPECT_EQ(while_held.submits, 0u);
  EXPECT_EQ(after.submits, 1u);  // the batch's end
  EXPECT_EQ(after.messages, 1u);
}

// A kernel-timed sleep that carries wakes ends at its timeout when nobody
// rings. The guard's ring ends a sleep that would otherwise never end, and
// reads as a ring.
TEST(WakeBatch, ACarryingSleepEndsAtItsTimeout) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell target, mine;
  Sleeper sleeper(target);
  std::atomic<bool> done{false};
  std::thread guard([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(3);
    while (!done.load() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    mine.Ring();
  });
  SyscallTally used;
  {
    WakeBatch batch;
    target.Ring();
    const SyscallTally before = ProcessSyscalls();
    // Shorter than kCoarseMin: the kernel times this sleep.
    EXPECT_FALSE(mine.WaitFor(absl::Milliseconds(10)));
    used = ProcessSyscalls() - before;
  }
  done.store(true);
  guard.join();
  EXPECT_EQ(used.sleeps, 1u);  // the timeout read as one, not slept again
  EXPECT_EQ(used.carried, 1u);
}

// A kernel-timed sleep that carries wakes ends at its ring, not at its
// timeout. The answer comes as soon as the held wake is delivered; of five
// rounds, a sleep that waited for its timeout every time would never
// return early, while one that ends at its ring does unless every answer
// was late.
TEST(WakeBatch, ACarryingSleepEndsAtItsRing) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  constexpr absl::Duration kTimeout = absl::Milliseconds(15);  // < kCoarseMin
  int early = 0;
  for (int round = 0; round < 5; ++round) {
    UringDoorbell target, mine;
    Sleeper sleeper(target);
    std::thread answer([&] {
      while (!sleeper.woke.load(std::memory_order_acquire)) {
        sched_yield();
      }
      mine.Ring();
    });
    SyscallTally used;
    absl::Duration took;
    {
      WakeBatch batch;
      target.Ring();
      const SyscallTally before = ProcessSyscalls();
      const absl::Time start = absl::Now();
      EXPECT_TRUE(mine.WaitFor(kTimeout));
      took = absl::Now() - start;
      used = ProcessSyscalls() - before;
    }
    answer.join();
    EXPECT_EQ(used.carried, 1u);
    if (took < kTimeout) ++early;
  }
  EXPECT_GE(early, 1) << "every carrying sleep lasted its whole timeout";
}

// kOtherCpusOnly: a waiter that slept on the ringer's CPU is woken at once,
// one that slept on another CPU waits for the ringer's sleep.
bool HeldForAWaiterOn(int waiter_cpu, int ringer_cpu) {
  UringDoorbell target;
  std::atomic<bool> woke{false};
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {
    PinCurrentThread({waiter_cpu}).IgnoreError();
    tid.store(gettid());
    target.Wait();
    woke.store(true);
  });
  // Asleep on waiter_cpu.
  EXPECT_TRUE(AwaitAsleep(tid, SYS_io_uring_enter, absl::Seconds(10)));
  bool held;
  {
    PinCurrentThread({ringer_cpu}).IgnoreError();
    WakeBatch batch(WakeBatch::kOtherCpusOnly);
    target.Ring();
    held = WakeBatch::held() == 1;
  }
  waiter.join();
  PinCurrentThread(AllowedCpus()).IgnoreError();
  return held;
}

TEST(WakeBatch, OtherCpusOnlySendsAWakeForThisCpuAtOnce) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  const std::vector<int> cpus = AllowedCpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  EXPECT_FALSE(HeldForAWaiterOn(cpus[0], cpus[0]));
  EXPECT_TRUE(HeldForAWaiterOn(cpus[1], cpus[0]));
}

}  // namespace
}  // namespace ioreq
