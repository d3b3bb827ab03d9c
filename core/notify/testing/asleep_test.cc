// AwaitAsleep sees a thread asleep in the named call, and only then.
#include "core/notify/testing/asleep.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/futex_doorbell.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

TEST(AwaitAsleep, SeesAThreadAsleepInTheNamedCall) {
  FutexDoorbell bell;
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {
    tid.store(gettid());
    bell.Wait();
  });
  EXPECT_TRUE(AwaitAsleep(tid, SYS_futex, absl::Seconds(10)));
  EXPECT_FALSE(AwaitAsleep(tid, SYS_read, absl::Milliseconds(20)))
      << "asleep in FUTEX_WAIT, not in read()";
  bell.Ring();
  waiter.join();
}

TEST(AwaitAsleep, ARunningThreadIsNotAsleep) {
  std::atomic<bool> stop{false};
  std::atomic<pid_t> tid{0};
  std::thread spinner([&] {
    tid.store(gettid());
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  EXPECT_FALSE(AwaitAsleep(tid, SYS_futex, absl::Milliseconds(50)));
  stop.store(true);
  spinner.join();
}

TEST(ThreadsNamed, FindsTheThreadsOfThatNameOrPrefixOnly) {
  std::atomic<bool> named{false}, stop{false};
  std::atomic<pid_t> tid{0};
  std::thread worker([&] {
    tid.store(gettid());
    pthread_setname_np(pthread_self(), "asleep-test-w");
    named.store(true);
    while (!stop.load()) std::this_thread::yield();
  });
  while (!named.load()) std::this_thread::yield();
  EXPECT_EQ(ThreadsNamed("asleep-test-w"), std::vector<pid_t>{tid.load()});
  EXPECT_TRUE(ThreadsNamed("asleep-test").empty()) << "a prefix is not a name";
  EXPECT_EQ(ThreadsNamedStartingWith("asleep-test"),
            std::vector<pid_t>{tid.load()});
  EXPECT_TRUE(ThreadsNamedStartingWith("asleep-test-wx").empty());
  stop.store(true);
  worker.join();
  // Gone once it has exited (a joined thread may be listed a moment more).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!ThreadsNamed("asleep-test-w").empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(ThreadsNamed("asleep-test-w").empty());
}

TEST(AwaitAsleep, AThreadThatNeverStartedIsNotAsleep) {
  const std::atomic<pid_t> tid{0};
  EXPECT_FALSE(AwaitAsleep(tid, SYS_futex, absl::Milliseconds(5)));
}

}  // namespace
}  // namespace ioreq
