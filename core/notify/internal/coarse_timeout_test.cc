// The coarse timeout's ticker: when an entry fires, that a disarmed one
// never does, and that its thread lives only while an entry is registered.
#include "core/notify/internal/coarse_timeout.h"

#include <dirent.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace notify_internal {
namespace {

struct Fired {
  std::atomic<int> count{0};
  std::atomic<int64_t> at_ns{0};
};

void Record(void* fired) {
  auto* f = static_cast<Fired*>(fired);
  f->at_ns.store(absl::GetCurrentTimeNanos());
  f->count.fetch_add(1);
}

bool AwaitCount(const Fired& fired, int want, absl::Duration limit) {
  const absl::Time end = absl::Now() + limit;
  while (fired.count.load() < want) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

int ThreadsOfThisProcess() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

TEST(CoarseTimeout, FiresOnceNoEarlierThanItsTimeout) {
  Fired fired;
  CoarseTimeout timeout(&Record, &fired);
  const int64_t armed_ns = absl::GetCurrentTimeNanos();
  timeout.Arm(kCoarseMin);
  ASSERT_TRUE(AwaitCount(fired, 1, absl::Seconds(10)));
  const absl::Duration took = absl::Nanoseconds(fired.at_ns.load() - armed_ns);
  EXPECT_GE(took, kCoarseMin);
  // At most two ticks late, but for scheduling: a loose bound for a busy
  // machine, which still fails a timeout that is not served at all.
  EXPECT_LT(took, kCoarseMin + 2 * kCoarseTick + absl::Milliseconds(500));
  EXPECT_FALSE(timeout.Disarm());  // the ticker took it
  absl::SleepFor(4 * kCoarseTick);
  EXPECT_EQ(fired.count.load(), 1);
}

TEST(CoarseTimeout, ADisarmedTimeoutNeverFires) {
  Fired fired;
  CoarseTimeout timeout(&Record, &fired);
  timeout.Arm(kCoarseMin);
  EXPECT_TRUE(timeout.Disarm());
  absl::SleepFor(kCoarseMin + 4 * kCoarseTick);
  EXPECT_EQ(fired.count.load(), 0);
}

TEST(CoarseTimeout, EachOfManyEntriesFiresOnceAtItsOwnTime) {
  constexpr int kEntries = 64;
  std::vector<Fired> fired(kEntries);
  std::vector<std::unique_ptr<CoarseTimeout>> timeouts;
  for (int i = 0; i < kEntries; ++i) {
    timeouts.push_back(std::make_unique<CoarseTimeout>(&Record, &fired[i]));
  }
  const int64_t armed_ns = absl::GetCurrentTimeNanos();
  for (int i = 0; i < kEntries; ++i) {
    timeouts[i]->Arm(kCoarseMin + (i % 4) * kCoarseTick);
  }
  // Odd entries are disarmed at once; even ones fire.
  for (int i = 1; i < kEntries; i += 2) EXPECT_TRUE(timeouts[i]->Disarm());
  for (int i = 0; i < kEntries; i += 2) {
    ASSERT_TRUE(AwaitCount(fired[i], 1, absl::Seconds(10))) << i;
    EXPECT_GE(absl::Nanoseconds(fired[i].at_ns.load() - armed_ns),
              kCoarseMin + (i % 4) * kCoarseTick)
        << i;
  }
  absl::SleepFor(4 * kCoarseTick);
  for (int i = 0; i < kEntries; ++i) {
    EXPECT_EQ(fired[i].count.load(), i % 2 == 0 ? 1 : 0) << i;
  }
}

// A timeout armed late in a tick has almost none of that tick left: Arm()
// counts the tick under way as spent, so the timeout still fires no earlier
// than asked. Armed a quarter tick apart, the entries cover every phase.
TEST(CoarseTimeout, NeverFiresEarlyWhereverInATickItIsArmed) {
  constexpr int kEntries = 24;
  std::vector<Fired> fired(kEntries);
  std::vector<std::unique_ptr<CoarseTimeout>> timeouts;
  std::vector<int64_t> armed_ns(kEntries);
  for (int i = 0; i < kEntries; ++i) {
    timeouts.push_back(std::make_unique<CoarseTimeout>(&Record, &fired[i]));
  }
  for (int i = 0; i < kEntries; ++i) {
    armed_ns[i] = absl::GetCurrentTimeNanos();
    timeouts[i]->Arm(kCoarseMin);
    absl::SleepFor(kCoarseTick / 4);
  }
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(AwaitCount(fired[i], 1, absl::Seconds(10))) << i;
    EXPECT_GE(absl::Nanoseconds(fired[i].at_ns.load() - armed_ns[i]), kCoarseMin)
        << i;
  }
}

TEST(CoarseTimeout, TheTickerRunsOnlyWhileAnEntryIsRegistered) {
  const int before = ThreadsOfThisProcess();
  ASSERT_GT(before, 0);
  Fired fired;
  {
    CoarseTimeout first(&Record, &fired);
    EXPECT_EQ(ThreadsOfThisProcess(), before);  // registered on first Arm()
    first.Arm(kCoarseMin);
    EXPECT_EQ(ThreadsOfThisProcess(), before + 1);
    {
      CoarseTimeout second(&Record, &fired);
      second.Arm(kCoarseMin);
      EXPECT_EQ(ThreadsOfThisProcess(), before + 1);  // one ticker for all
    }
    EXPECT_EQ(ThreadsOfThisProcess(), before + 1);
  }
  EXPECT_EQ(ThreadsOfThisProcess(), before);  // joined with the last entry
  {
    CoarseTimeout again(&Record, &fired);  // a fresh ticker starts
    again.Arm(kCoarseMin);
    EXPECT_EQ(ThreadsOfThisProcess(), before + 1);
    ASSERT_TRUE(AwaitCount(fired, 1, absl::Seconds(10)));
  }
  EXPECT_EQ(ThreadsOfThisProcess(), before);
}

}  // namespace
}  // namespace notify_internal
}  // namespace ioreq
