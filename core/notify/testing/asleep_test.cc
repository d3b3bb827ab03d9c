// AwaitAsleep sees a thread asleep in the named call, and only then.
#include "core/notify/testing/asleep.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

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

TEST(AwaitAsleep, AThreadThatNeverStartedIsNotAsleep) {
  const std::atomic<pid_t> tid{0};
  EXPECT_FALSE(AwaitAsleep(tid, SYS_futex, absl::Milliseconds(5)));
}

}  // namespace
}  // namespace ioreq
