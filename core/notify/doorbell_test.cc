// Every doorbell strategy against the same contract (core/notify/strategy.h).
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/notify/internal/coarse_timeout.h"
#include "core/notify/internal/waiter_word.h"
#include "core/notify/poll_for_ring.h"
#include "core/notify/strategy.h"
#include "core/notify/syscall_tally.h"
#include "core/notify/testing/asleep.h"
#include "core/notify/testing/sleep_calls.h"
#include "core/notify/testing/sleeping_bells.h"
#include "core/notify/uring_doorbell.h"
#include "core/placement/busy_load.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace ioreq {
namespace {

template <typename Bell>
class DoorbellTest : public ::testing::Test {
 protected:
  void SetUp() override { IOREQ_SKIP_UNLESS_OFFERED(StrategyOf<Bell>()); }
};

using AllBells = AllDoorbells<::testing::Types>;
TYPED_TEST_SUITE(DoorbellTest, AllBells);

TYPED_TEST(DoorbellTest, RingBeforeWaitIsNotLost) {
  TypeParam bell;
  bell.Ring();
  EXPECT_TRUE(bell.WaitFor(absl::Seconds(5)));
}

TYPED_TEST(DoorbellTest, WaitForTimesOutWithoutARing) {
  TypeParam bell;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(bell.WaitFor(absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

// A timeout of 20 ms is the coarse ticker's (internal/coarse_timeout.h):
// rings that land around it, before, as and after it fires, never leave a
// fired timeout behind to end a later wait early. Every wait that reads as
// a timeout lasted its whole timeout.
TYPED_TEST(DoorbellTest, ARingRacingATimeoutNeverShortensALaterWait) {
  TypeParam bell;
  std::atomic<bool> done{false};
  std::thread ringer([&] {
    uint32_t x = 12345;
    while (!done.load()) {
      x = x * 1103515245u + 12345u;
      absl::SleepFor(absl::Microseconds(15000 + (x >> 16) % 12000));
      bell.Ring();
    }
  });
  int timeouts = 0;
  int short_timeouts = 0;
  for (int i = 0; i < 30; ++i) {
    const absl::Time start = absl::Now();
    if (!bell.WaitFor(absl::Milliseconds(20))) {
      ++timeouts;
      if (absl::Now() - start < absl::Milliseconds(19)) ++short_timeouts;
    }
  }
  done.store(true);
  ringer.join();
  EXPECT_EQ(short_timeouts, 0) << "of " << timeouts << " timeouts";
}

// A blocking doorbell with its counter in view.
template <typename Base>
struct Counted : Base {
  const notify_internal::SyscallCounter& counter() const {
    return this->waiter_.counter();
  }
};

// A coarse timeout that fires costs the waiter one sleep and the ticker one
// wake, each counted once. (The waiter may not sleep at all if it was held
// off its CPU for the whole timeout before it could; then nothing woke it.)
template <typename Bell>
void ExpectATickerWakeCountedOnce() {
  Counted<Bell> bell;
  EXPECT_FALSE(bell.WaitFor(notify_internal::kCoarseMin));
  const uint64_t sleeps = bell.counter().sleeps.load();
  EXPECT_EQ(bell.counter().wakes.load(), sleeps > 0 ? 1u : 0u) << Bell::kName;
}

TEST(CoarseTimeoutCost, OneSleepAndTheTickersOneWake) {
  ExpectATickerWakeCountedOnce<FutexDoorbell>();
  ExpectATickerWakeCountedOnce<EventfdDoorbell>();
  if (!ProbeUring().ok()) return;
  ExpectATickerWakeCountedOnce<UringDoorbell>();
  ExpectATickerWakeCountedOnce<UringEventfdDoorbell>();
}

// A ring that lands after the ticker has claimed the waiter's timeout and
// before it fires it: the waiter returns rung, and the timeout's bit, which
// lands after, must be taken then, not left to end the next wait at once.
// The ring comes from inside that window (a hook on the ticker's thread),
// and the hook holds the window open 5 ms.
template <typename Bell>
Bell* g_racing_bell = nullptr;

template <typename Bell>
void RingThenHoldTheFire() {
  g_racing_bell<Bell>->Ring();
  absl::SleepFor(absl::Milliseconds(5));
}

template <typename Bell>
void ExpectARingBetweenClaimAndFireLeavesNoTimeoutBehind() {
  Bell bell;
  g_racing_bell<Bell> = &bell;
  notify_internal::SetBetweenClaimAndFireForTesting(&RingThenHoldTheFire<Bell>);
  EXPECT_TRUE(bell.WaitFor(notify_internal::kCoarseMin)) << Bell::kName;
  notify_internal::SetBetweenClaimAndFireForTesting(nullptr);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(bell.WaitFor(notify_internal::kCoarseMin)) << Bell::kName;
  EXPECT_GE(absl::Now() - start, notify_internal::kCoarseMin) << Bell::kName;
}

TEST(CoarseTimeoutRace, ARingBetweenClaimAndFireLeavesNoTimeoutBehind) {
  ExpectARingBetweenClaimAndFireLeavesNoTimeoutBehind<FutexDoorbell>();
  ExpectARingBetweenClaimAndFireLeavesNoTimeoutBehind<EventfdDoorbell>();
  if (!ProbeUring().ok()) return;
  ExpectARingBetweenClaimAndFireLeavesNoTimeoutBehind<UringDoorbell>();
  ExpectARingBetweenClaimAndFireLeavesNoTimeoutBehind<UringEventfdDoorbell>();
}

// A wait of zero (or less) takes a pending ring and otherwise returns at
// once: it announces no sleep, so it costs no system call, and a ring after
// it needs no wake call either.
TYPED_TEST(DoorbellTest, AZeroWaitNeitherSleepsNorAsksForAWake) {
  TypeParam bell;
  EXPECT_FALSE(bell.WaitFor(absl::ZeroDuration()));
  EXPECT_FALSE(bell.WaitFor(-absl::Milliseconds(1)));
  bell.Ring();
  EXPECT_EQ(bell.syscalls(), 0u);
  EXPECT_TRUE(bell.WaitFor(absl::ZeroDuration()));
  EXPECT_EQ(bell.syscalls(), 0u);
}

TYPED_TEST(DoorbellTest, RingsAreConsumedNotCounted) {
  TypeParam bell;
  bell.Ring();
  bell.Ring();
  EXPECT_TRUE(bell.WaitFor(absl::Seconds(5)));
  EXPECT_FALSE(bell.WaitFor(absl::Milliseconds(5)));
}

// Timeouts under kCoarseMin (internal/coarse_timeout.h) go to the kernel:
// FUTEX_WAIT's, poll()'s, io_uring's. Such a wait still lasts its whole
// timeout, not the whole milliseconds in it (2.9 ms is not 2 ms), and a
// zero timeout does not sleep at all but still takes a pending ring.
TYPED_TEST(DoorbellTest, AKernelTimedWaitLastsItsWholeTimeout) {
  TypeParam bell;
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_FALSE(bell.WaitFor(absl::Microseconds(2900)));
    EXPECT_GE(absl::Now() - start, absl::Microseconds(2900));
  }
  EXPECT_FALSE(bell.WaitFor(absl::ZeroDuration()));
  bell.Ring();
  EXPECT_TRUE(bell.WaitFor(absl::ZeroDuration()));
  EXPECT_FALSE(bell.Peek());
}

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

// SIGUSR1 counted by CountSignal() while in scope, without SA_RESTART, so
// that a sleeping call it interrupts returns EINTR.
class CountedSignal {
 public:
  CountedSignal() {
    struct sigaction action = {};
    action.sa_handler = &CountSignal;
    sigaction(SIGUSR1, &action, &before_);
    g_signals.store(0);
  }
  ~CountedSignal() { sigaction(SIGUSR1, &before_, nullptr); }
  static int count() { return g_signals.load(); }

 private:
  struct sigaction before_;
};

// A signal that interrupts a kernel-timed sleep (EINTR) is not a timeout:
// the wait sleeps its whole timeout again and reads as a timeout only then.
// The handler is installed without SA_RESTART, so the call does return.
// The waiter is signalled once it sleeps; if the 15 ms pass before the
// signal lands (this thread preempted that long), that try proves nothing,
// so three are made and one must show it.
TYPED_TEST(DoorbellTest, ASignalDoesNotEndAKernelTimedWaitEarly) {
  TypeParam bell;
  const long call = SleepCall(bell, Timed::kYes);
  if (call < 0) GTEST_SKIP() << TypeParam::kName << " makes no call to break";
  CountedSignal signal;
  constexpr absl::Duration kTimeout = absl::Milliseconds(15);
  int signalled = 0;
  int lasted = 0;  // tries whose wait went on for kTimeout after the signal
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::atomic<pid_t> tid{0};
    bool rung = true;
    absl::Time end;
    std::thread waiter([&] {
      tid.store(gettid());
      rung = bell.WaitFor(kTimeout);
      end = absl::Now();
    });
    if (AwaitAsleep(tid, call, absl::Seconds(10))) {
      const absl::Time sent = absl::Now();
      pthread_kill(waiter.native_handle(), SIGUSR1);
      waiter.join();
      ++signalled;
      EXPECT_FALSE(rung) << "a signal read as a ring";
      if (end - sent >= kTimeout) ++lasted;
    } else {
      waiter.join();
    }
  }
  EXPECT_GT(signalled, 0) << "the waiter was never seen asleep";
  EXPECT_GT(lasted, 0) << "of " << signalled << " signalled waits, none "
                       << "slept its timeout again after the signal";
  EXPECT_EQ(CountedSignal::count(), signalled);
}

// A signal that interrupts an untimed sleep (or one the coarse ticker
// times) is not a ring either: the waiter goes back to sleep in the same
// call, and the ring that follows wakes it.
TYPED_TEST(DoorbellTest, ASignalIsNotARingToAnUntimedWait) {
  TypeParam bell;
  const long call = SleepCall(bell, Timed::kNo);
  if (call < 0) GTEST_SKIP() << TypeParam::kName << " makes no call to break";
  CountedSignal signal;
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  bool rung = false;
  absl::Time end;
  std::thread waiter([&] {
    tid.store(gettid());
    // Coarse: the kernel sleeps with no timeout; the minute only bounds a
    // wait that lost its ring.
    rung = bell.WaitFor(absl::Minutes(1));
    end = absl::Now();
    returned.store(true);
  });
  EXPECT_TRUE(AwaitAsleep(tid, call, absl::Seconds(10)));
  pthread_kill(waiter.native_handle(), SIGUSR1);
  while (CountedSignal::count() == 0) std::this_thread::yield();
  // Asleep again: the signal ended the call, not the wait.
  EXPECT_TRUE(AwaitAsleep(tid, call, absl::Seconds(10)));
  EXPECT_FALSE(returned.load()) << "the signal ended the wait";
  const absl::Time rang = absl::Now();
  bell.Ring();
  waiter.join();
  EXPECT_TRUE(rung);
  EXPECT_LT(end - rang, absl::Seconds(30)) << "the ring was lost";
}

// Two threads hand a count back and forth `rounds` times, one through
// `ping`, the other through `pong`, which is rung `pong_rings` times per
// hand-back. Returns the count both reached (2 * rounds when no wake-up
// was lost).
template <typename Bell>
int PingPong(Bell& ping, Bell& pong, int rounds, int pong_rings = 1) {
  std::atomic<int> seen{0};
  std::thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      // The waiter re-checks its condition after every return.
      while (seen.load(std::memory_order_acquire) < 2 * i + 1) ping.Wait();
      seen.store(2 * i + 2, std::memory_order_release);
      for (int r = 0; r < pong_rings; ++r) pong.Ring();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    seen.store(2 * i + 1, std::memory_order_release);
    ping.Ring();
    while (seen.load(std::memory_order_acquire) < 2 * i + 2) {
      if (!pong.WaitFor(absl::Seconds(10))) {
        // A lost wake-up: the other thread may wait for ever, so end here.
        std::fprintf(stderr, "round %d: no wake-up in 10 s\n", i);
        std::abort();
      }
    }
  }
  other.join();
  return seen.load();
}

TYPED_TEST(DoorbellTest, PingPongLosesNoWakeup) {
  TypeParam ping, pong;
  EXPECT_EQ(PingPong(ping, pong, 2000), 2 * 2000);
}

TYPED_TEST(DoorbellTest, NoSystemCallWhileTheWaiterIsAwake) {
  TypeParam bell;
  for (int i = 0; i < 1000; ++i) bell.Ring();
  EXPECT_EQ(bell.syscalls(), 0u);
}

TYPED_TEST(DoorbellTest, PeekSeesARingUntilAWaitConsumesIt) {
  TypeParam bell;
  EXPECT_FALSE(bell.Peek());
  bell.Ring();
  EXPECT_TRUE(bell.Peek());
  EXPECT_TRUE(bell.Peek()) << "Peek() must not consume the ring";
  EXPECT_TRUE(bell.WaitFor(absl::Seconds(5)));
  EXPECT_FALSE(bell.Peek());
}

// HsmOptions::service_poll: a ring that lands while the waiter polls costs
// neither side a system call, and the poll returns as soon as it lands.
TYPED_TEST(DoorbellTest, PollForRingCatchesARingWithoutASystemCall) {
  TypeParam bell;
  std::atomic<bool> polling{false};
  std::thread notifier([&] {
    while (!polling.load(std::memory_order_acquire)) std::this_thread::yield();
    absl::SleepFor(absl::Milliseconds(2));
    bell.Ring();
  });
  polling.store(true, std::memory_order_release);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(PollForRing(bell, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  bell.Wait();  // consumes the ring at once
  notifier.join();
  EXPECT_EQ(bell.syscalls(), 0u);
  EXPECT_FALSE(bell.Peek());
}

TYPED_TEST(DoorbellTest, PollForRingGivesUpAfterItsWindow) {
  TypeParam bell;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(PollForRing(bell, absl::Milliseconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(5));
  EXPECT_FALSE(PollForRing(bell, absl::ZeroDuration()));
  bell.Ring();
  EXPECT_TRUE(PollForRing(bell, absl::ZeroDuration()));
  EXPECT_EQ(bell.syscalls(), 0u);
}

TYPED_TEST(DoorbellTest, RingManyWakesEveryWaiter) {
  constexpr int kWaiters = 4;
  std::vector<TypeParam> bells(kWaiters);
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (auto& b : bells) {
    threads.emplace_back([&] {
      if (b.WaitFor(absl::Seconds(10))) ++woken;
    });
  }
  absl::SleepFor(absl::Milliseconds(20));  // let them block (or spin)
  std::vector<TypeParam*> all;
  for (auto& b : bells) all.push_back(&b);
  TypeParam::RingMany(all.data(), all.size());
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken.load(), kWaiters);
}

TEST(FutexDoorbell, WakesOnlyASleeper) {
  FutexDoorbell bell;
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {
    tid.store(gettid());
    bell.Wait();
  });
  EXPECT_TRUE(AwaitAsleep(tid, SYS_futex, absl::Seconds(10)));
  bell.Ring();
  waiter.join();
  // One sleep and one wake.
  EXPECT_EQ(bell.syscalls(), 2u);
}

// A ring that finds its waiter asleep writes the eventfd; if the waiter's
// poll() timed out just before, the ring is taken from the waiter word and
// the count stays behind. The next wait finds the fd readable at once: it
// must take that count and sleep again, not end early as a timeout nor
// return for ever on the same count.
TEST(EventfdDoorbell, ALateWakeLeftInTheCounterDoesNotEndTheNextWait) {
  struct Bell : EventfdDoorbell {
    void LeaveALateWake() {
      const uint64_t one = 1;
      ASSERT_EQ(write(waiter_.backend().fd(), &one, sizeof(one)),
                static_cast<ssize_t>(sizeof(one)));
    }
  } bell;
  for (const absl::Duration timeout :
       {absl::Milliseconds(5), absl::Milliseconds(25)}) {  // kernel, coarse
    bell.LeaveALateWake();
    const absl::Time start = absl::Now();
    EXPECT_FALSE(bell.WaitFor(timeout));
    EXPECT_GE(absl::Now() - start, timeout);
  }
  // Taken: a second wait sleeps once.
  const uint64_t sleeps = bell.syscalls();
  EXPECT_FALSE(bell.WaitFor(absl::Milliseconds(2)));
  EXPECT_EQ(bell.syscalls() - sleeps, 1u);
}

// The process-wide tally by kind (core/notify/syscall_tally.h): a sleeper
// woken once costs one sleep call and one wake call.
TEST(SyscallTally, FutexSleepAndWakeAreOneCallEach) {
  const SyscallTally before = ProcessSyscalls();
  FutexDoorbell bell;
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {
    tid.store(gettid());
    bell.Wait();
  });
  EXPECT_TRUE(AwaitAsleep(tid, SYS_futex, absl::Seconds(10)));
  bell.Ring();
  waiter.join();
  const SyscallTally used = ProcessSyscalls() - before;
  EXPECT_EQ(used.sleeps, 1u);
  EXPECT_EQ(used.wakes, 1u);
  EXPECT_EQ(used.submits, 0u);
}

// io_uring: RingMany() puts every sleeper's wake message into one submit.
TEST(SyscallTally, UringBatchesTheWakesOfOneRingManyIntoOneSubmit) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  constexpr int kWaiters = 4;
  SleepingBells sleepers(kWaiters);
  const SyscallTally before = ProcessSyscalls();
  UringDoorbell::RingMany(sleepers.bells().data(), sleepers.size());
  const SyscallTally used = ProcessSyscalls() - before;
  sleepers.Join();
  EXPECT_EQ(used.messages, static_cast<uint64_t>(kWaiters));
  EXPECT_EQ(used.submits, 1u);
  EXPECT_EQ(used.wakes, 0u);
  // Each doorbell counts its own share: the one sleep and the one wake
  // that went out in the batch.
  for (const UringDoorbell* bell : sleepers.bells()) {
    EXPECT_EQ(bell->syscalls(), 2u);
  }
}

// Rings are given back and taken again, never unmapped and mapped anew:
// doorbells destroyed, and notifying threads that ended, map nothing new.
TEST(UringDoorbell, ARingGivenBackIsTakenAgain) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  auto round = [] {
    UringDoorbell msg;
    UringEventfdDoorbell eventfd;
    std::thread notifier([&] {  // a thread of its own: its own notifier ring
      absl::SleepFor(absl::Milliseconds(5));
      msg.Ring();
      eventfd.Ring();
    });
    EXPECT_TRUE(msg.WaitFor(absl::Seconds(10)));
    EXPECT_TRUE(eventfd.WaitFor(absl::Seconds(10)));
    notifier.join();
  };
  round();  // every kind of ring mapped once, then given back
  const size_t mapped = notify_internal::UringRingsMapped();
  for (int i = 0; i < 50; ++i) round();
  EXPECT_EQ(notify_internal::UringRingsMapped(), mapped);
}

// `n` `uring` doorbells, each holding a waiter ring from the pool or new.
std::vector<std::unique_ptr<UringDoorbell>> UringWaiters(size_t n) {
  std::vector<std::unique_ptr<UringDoorbell>> bells;
  for (size_t i = 0; i < n; ++i) {
    bells.push_back(std::make_unique<UringDoorbell>());
  }
  return bells;
}

// Each ring the pool has none idle of its size for is mapped once and
// counted once, and only a ring of the size asked for is taken: hold more
// waiters than rings were ever mapped (none of their size is then idle),
// give them back with a ring of another size, and hold one more.
TEST(UringDoorbell, OnlyARingOfItsSizeIsTakenFromThePool) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  const size_t held = notify_internal::UringRingsMapped() + 1;
  {
    auto bells = UringWaiters(held);
    UringEventfdDoorbell other_size;  // given back beside them, not theirs
  }  // now `held` idle rings of this size, and no other of it
  const size_t before = notify_internal::UringRingsMapped();
  auto bells = UringWaiters(held + 1);
  EXPECT_EQ(notify_internal::UringRingsMapped(), before + 1);
}

// RingMany() to more sleepers than a notifier ring has entries: the full
// ring is submitted and filled again, and every sleeper wakes.
TEST(UringDoorbell, RingManyWakesMoreSleepersThanItsRingHolds) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  constexpr int kWaiters = 100;  // the notifier ring has 64 entries
  SleepingBells sleepers(kWaiters);
  const SyscallTally before = ProcessSyscalls();
  UringDoorbell::RingMany(sleepers.bells().data(), sleepers.size());
  const SyscallTally used = ProcessSyscalls() - before;
  sleepers.Join();
  EXPECT_EQ(sleepers.woke(), kWaiters);
  EXPECT_EQ(used.messages, static_cast<uint64_t>(kWaiters));
  EXPECT_EQ(used.submits, 2u);  // the full ring's, then the rest's
}

// SetUringSqpoll(true): a notifying thread's ring gets the kernel's
// submission poller, a thread of this process named iou-sqp-<tid>.
TEST(UringDoorbell, SqpollGivesANotifierRingAKernelPoller) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  UringDoorbell bell;
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {  // asleep, so that the ring is a message
    tid.store(gettid());
    bell.Wait();
  });
  EXPECT_TRUE(AwaitAsleep(tid, SYS_io_uring_enter, absl::Seconds(10)));
  SetUringSqpoll(true);
  std::thread notifier([&] { bell.Ring(); });  // a notifier ring of its own
  notifier.join();
  SetUringSqpoll(false);
  waiter.join();
  // The poller names itself once it first runs: look until it has. A ring
  // is never unmapped, so the poller stays.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ThreadsNamedStartingWith("iou-sqp-").empty() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_FALSE(ThreadsNamedStartingWith("iou-sqp-").empty());
}

// A kernel that refuses a ring (here: no file descriptor is left) is named
// in ProbeUring()'s error. Every idle ring of the probe's size is held
// first, so that the probe must map one.
TEST(UringDoorbell, ProbeSaysWhenTheKernelRefusesARing) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  auto bells = UringWaiters(notify_internal::UringRingsMapped() + 1);
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  rlimit no_files = old_limit;
  no_files.rlim_cur = 0;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &no_files), 0);
  const absl::Status probe = ProbeUring();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_EQ(probe.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(probe.message().find("io_uring_setup failed"),
            absl::string_view::npos)
      << probe.message();
}

// uring_eventfd: every sleep ends at a ring of its own. A completion left
// in the ring (a count the eventfd was made with, a read's completion not
// consumed) would end the next sleep early, and the waiter, finding no
// ring, would sleep once more: its count tells.
TEST(UringEventfdDoorbell, EachSleepEndsAtARingOfItsOwn) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  UringEventfdDoorbell bell;
  EXPECT_FALSE(bell.WaitFor(absl::Milliseconds(5)));  // nobody rings
  EXPECT_EQ(bell.syscalls(), 1u);
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<pid_t> tid{0};
    std::thread sleeper([&] {
      tid.store(gettid());
      bell.Wait();
    });
    ASSERT_TRUE(AwaitAsleep(tid, SYS_io_uring_enter, absl::Seconds(10)));
    bell.Ring();
    sleeper.join();
  }
  EXPECT_EQ(bell.syscalls(), 1u + 2 * kRounds);  // a sleep and a wake each
}

TEST(AdaptiveDoorbell, WindowGrowsAfterShortSleepsAndShrinksAfterLongOnes) {
  AdaptiveDoorbell bell;
  const int64_t start = bell.window_ns();
  // A ring 20 ms later: a long sleep, the window halves.
  std::thread late([&] {
    absl::SleepFor(absl::Milliseconds(20));
    bell.Ring();
  });
  bell.Wait();
  late.join();
  EXPECT_LT(bell.window_ns(), start);
  // A ring that ends a sleep within kMaxWindow makes it grow again: the
  // ringer waits 20 us, longer than the halved window, and rings. A round
  // whose ringer was descheduled past kMaxWindow halves it instead, so the
  // rounds go on until one grows it.
  std::atomic<int> round{0};
  std::atomic<bool> done{false};
  std::thread ringer([&] {
    for (int seen = 0; !done.load();) {
      if (round.load() == seen) continue;
      seen = round.load();
      const absl::Time due = absl::Now() + absl::Microseconds(20);
      while (absl::Now() < due) {
      }
      bell.Ring();
    }
  });
  bool grew = false;
  for (int i = 1; i <= 200 && !grew; ++i) {
    const int64_t before = bell.window_ns();
    round.store(i);
    bell.Wait();
    grew = bell.window_ns() > before;
    EXPECT_LE(bell.window_ns(), AdaptiveDoorbell::kMaxWindowNs);
  }
  done.store(true);
  ringer.join();
  EXPECT_TRUE(grew) << "no ring within kMaxWindow grew the window";
}

// A ring that came before the wait is taken at once: no spin, no sleep,
// and the window stays as it is.
TEST(AdaptiveDoorbell, ARingBeforeTheWaitIsTakenWithoutSpinning) {
  AdaptiveDoorbell bell;
  const int64_t window = bell.window_ns();
  bell.Ring();
  EXPECT_TRUE(bell.WaitFor(absl::Seconds(5)));
  EXPECT_EQ(bell.window_ns(), window);
  EXPECT_EQ(bell.same_cpu_skips() + bell.busy_skips(), 0u);
  EXPECT_EQ(bell.syscalls(), 0u);
}

// The collapse rule: spinning stops only when a runnable task would wait
// for a CPU, counted among this process's waiters or the whole machine's
// tasks.
TEST(AdaptiveDoorbell, SpinningCollapsesOnlyWithMoreRunnableTasksThanCores) {
  // Every core busy, none waiting: spinning still pays.
  EXPECT_FALSE(AdaptiveDoorbell::CpusOversubscribed(2, 2, 2));
  EXPECT_FALSE(AdaptiveDoorbell::CpusOversubscribed(1, 1, 2));
  // This process's waiters alone outnumber the cores (and /proc could not
  // be read: the machine's count reads 0).
  EXPECT_TRUE(AdaptiveDoorbell::CpusOversubscribed(3, 0, 2));
  // Another process waits for a CPU.
  EXPECT_TRUE(AdaptiveDoorbell::CpusOversubscribed(1, 3, 2));
  EXPECT_TRUE(AdaptiveDoorbell::CpusOversubscribed(3, 3, 2));
}

TEST(AdaptiveDoorbell, ReadsTheRunningTasksFromLoadavg) {
  EXPECT_EQ(AdaptiveDoorbell::RunnableInLoadavg("0.52 0.58 0.59 3/812 12345\n"),
            3);
  EXPECT_EQ(
      AdaptiveDoorbell::RunnableInLoadavg("10.00 9.50 8.25 17/2048 99\n"), 17);
  EXPECT_EQ(AdaptiveDoorbell::RunnableInLoadavg("0.00 0.00"), 0);
  EXPECT_EQ(AdaptiveDoorbell::RunnableInLoadavg(""), 0);
  // What this machine's /proc/loadavg says: this thread runs, at least.
  EXPECT_GE(AdaptiveDoorbell::SystemRunnable(), 1);
}

// Two threads on one CPU: the notifier last ran where the waiter would
// spin, so every wait sleeps at once; on two CPUs nothing is skipped.
void PingPongOn(int ping_cpu, int pong_cpu, uint64_t* skips) {
  AdaptiveDoorbell ping, pong;
  constexpr int kRounds = 200;
  std::thread other([&] {
    ASSERT_TRUE(PinCurrentThread({pong_cpu}).ok());
    for (int i = 0; i < kRounds; ++i) {
      ping.Wait();
      // Ring only once the other side waits: on one CPU, a woken thread
      // that preempted its waker every round would ring before the wait
      // began, and no wait would have a spin to skip (seen once in CI).
      absl::SleepFor(absl::Microseconds(50));
      pong.Ring();
    }
  });
  ASSERT_TRUE(PinCurrentThread({ping_cpu}).ok());
  for (int i = 0; i < kRounds; ++i) {
    ping.Ring();
    pong.Wait();
  }
  other.join();
  *skips = pong.same_cpu_skips();
}

TEST(AdaptiveDoorbell, NeverSpinsOnTheCpuItsNotifierRunsOn) {
  const std::vector<int> cpus = AllowedCpus();
  std::thread t([&] {
    uint64_t skips = 0;
    PingPongOn(cpus[0], cpus[0], &skips);
    // The first wait may find the ring already there; after that, each
    // wait that does not find it skips its spin.
    EXPECT_GT(skips, 0u);
    if (cpus.size() >= 2) {
      PingPongOn(cpus[0], cpus[1], &skips);
      EXPECT_EQ(skips, 0u);
    }
  });
  t.join();
}

// Other processes spinning on every core (and one more): the machine has
// more runnable tasks than cores, so a waiter sleeps at once instead of
// spinning, though none of the spinners is of this process.
TEST(AdaptiveDoorbell, DoesNotSpinWhileOtherProcessesWaitForACpu) {
  const std::vector<int> cpus = AllowedCpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  const int cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  BusyLoad busy(cores + 1);
  ASSERT_EQ(busy.running(), cores + 1);
  absl::SleepFor(absl::Milliseconds(20));  // the children are running
  EXPECT_GT(AdaptiveDoorbell::SystemRunnable(), cores);
  // On two CPUs, so that the same-CPU signal never decides first.
  AdaptiveDoorbell ping, pong;
  std::thread other([&] {
    ASSERT_TRUE(PinCurrentThread({cpus[1]}).ok());
    for (int i = 0; i < 50; ++i) {
      ping.Wait();
      pong.Ring();
    }
  });
  std::thread self([&] {
    ASSERT_TRUE(PinCurrentThread({cpus[0]}).ok());
    for (int i = 0; i < 50; ++i) {
      ping.Ring();
      pong.Wait();
    }
    EXPECT_EQ(pong.same_cpu_skips(), 0u);
    EXPECT_GT(pong.busy_skips(), 0u);
  });
  self.join();
  other.join();
}

// A waiter asleep in the kernel counts as runnable from the Ring() that
// wakes it, before it gets a CPU (the kernel marks a woken task runnable at
// the wake): spinners that count runnable threads see at once that it
// needs a core. The waiter is kept off its CPU (SCHED_IDLE beside a busy
// thread there) so that only the ring can have moved the count.
TEST(AdaptiveDoorbell, AWakenedWaiterCountsRunnableFromTheRing) {
  const std::vector<int> cpus = AllowedCpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  const int sleeping_before = AdaptiveDoorbell::SleepingThreads();
  AdaptiveDoorbell bell;
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    ASSERT_TRUE(PinCurrentThread({cpus[1]}).ok());
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  std::thread waiter([&] {
    ASSERT_TRUE(PinCurrentThread({cpus[1]}).ok());
    sched_param param{};
    ASSERT_EQ(sched_setscheduler(0, SCHED_IDLE, &param), 0);
    bell.Wait();
  });
  ASSERT_TRUE(PinCurrentThread({cpus[0]}).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (AdaptiveDoorbell::SleepingThreads() != sleeping_before + 1) {
    ASSERT_LT(absl::Now(), give_up) << "the waiter never went to sleep";
    absl::SleepFor(absl::Microseconds(100));
  }
  bell.Ring();
  EXPECT_EQ(AdaptiveDoorbell::SleepingThreads(), sleeping_before);
  waiter.join();
  stop.store(true, std::memory_order_relaxed);
  busy.join();
  // Counted awake once: by the ring, not again by the waiter.
  EXPECT_EQ(AdaptiveDoorbell::SleepingThreads(), sleeping_before);
}

// However rings and wakes interleave, each sleep leaves the count once (a
// second ring of the same wake counts nothing).
TEST(AdaptiveDoorbell, SleepingCountReturnsToWhereItWas) {
  const int sleeping_before = AdaptiveDoorbell::SleepingThreads();
  AdaptiveDoorbell ping, pong;
  EXPECT_EQ(PingPong(ping, pong, 2000, /*pong_rings=*/2), 2 * 2000);
  EXPECT_EQ(AdaptiveDoorbell::SleepingThreads(), sleeping_before);
}

// A thread counts among the waiter threads from its first wait until it
// leaves (or exits), and again from its next wait: a thread that waited once
// and then blocks elsewhere (a benchmark's thread between runs) must not
// read as runnable to every spinner for the rest of its life.
TEST(AdaptiveDoorbell, AThreadCountsAsAWaiterUntilItLeaves) {
  const int before = AdaptiveDoorbell::WaiterThreads();
  std::thread waiter([before] {
    AdaptiveDoorbell bell;
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before);
    bell.Ring();
    bell.Wait();  // taken at once; the wait counts the thread
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before + 1);
    bell.Ring();
    bell.Wait();  // counted once, however many waits
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before + 1);
    AdaptiveDoorbell::LeaveWaiterThreads();
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before);
    AdaptiveDoorbell::LeaveWaiterThreads();  // a second leave gives back nothing
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before);
    {
      AdaptiveWaiterScope scope;
      EXPECT_FALSE(bell.WaitFor(absl::Microseconds(10)));
      EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before + 1);
    }
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before);
    bell.Ring();
    bell.Wait();  // counted again, until the thread exits
    EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before + 1);
  });
  waiter.join();
  EXPECT_EQ(AdaptiveDoorbell::WaiterThreads(), before);
}

}  // namespace
}  // namespace ioreq
