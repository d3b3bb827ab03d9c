// WakeBatch (core/notify/wake_batch.h): held wakes go out with the sleep, at
// the batch's end, or before any wait that cannot carry them; none is lost.
#include "core/notify/wake_batch.h"

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
#include "core/notify/uring_doorbell.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

template <typename Bell>
class WakeBatchTest : public ::testing::Test {};

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
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!sleeper.woke.load(std::memory_order_acquire) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(sleeper.woke.load());
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
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(a.woke.load() && b.woke.load()) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(a.woke.load());
  EXPECT_TRUE(b.woke.load());
}

// More held wakes than a sleep's ring has room for: all go out at once in
// one submit, and the sleep is a plain one.
TEST(WakeBatch, MoreWakesThanASleepCarriesGoOutInOneSubmit) {
  if (UringMissing()) GTEST_SKIP() << ProbeUring().message();
  constexpr int kTargets = 40;
  std::vector<std::unique_ptr<UringDoorbell>> bells;
  for (int i = 0; i < kTargets; ++i) {
    bells.push_back(std::make_unique<UringDoorbell>());
  }
  std::vector<std::thread> threads;
  std::vector<std::atomic<pid_t>> tids(kTargets);
  std::atomic<int> woke{0};
  for (int i = 0; i < kTargets; ++i) {
    threads.emplace_back([&bells, &tids, &woke, i] {
      tids[i].store(gettid());
      bells[i]->Wait();
      woke.fetch_add(1);
    });
  }
  for (const std::atomic<pid_t>& tid : tids) {
    EXPECT_TRUE(AwaitAsleep(tid, SYS_io_uring_enter, absl::Seconds(10)));
  }
  UringDoorbell mine;
  SyscallTally used;
  {
    WakeBatch batch;
    const SyscallTally before = ProcessSyscalls();
    for (auto& b : bells) b->Ring();
    EXPECT_EQ(WakeBatch::held(), static_cast<uint32_t>(kTargets));
    // Shorter than kCoarseMin: the kernel times this sleep, so the count
    // holds no MSG_RING of the coarse ticker's (its wake is a submit too).
    EXPECT_FALSE(mine.WaitFor(absl::Milliseconds(10)));
    used = ProcessSyscalls() - before;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(woke.load(), kTargets);
  EXPECT_EQ(used.submits, 1u);
  EXPECT_EQ(used.carried, 0u);
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
