// PassGate: shared passes exclude exclusive ones, Pause() drains, and the
// readers' stripes never let a reader and a writer in together.
#include "core/hsm/internal/pass_gate.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace hsm_internal {
namespace {

TEST(PassGate, PauseWaitsForTheSharedPassInProgressAndLaterOnesSeeIt) {
  PassGate gate;
  std::promise<void> entered, leave;
  std::thread reader([&] {
    PassGate::Shared pass = gate.SharedPass();
    EXPECT_FALSE(gate.paused());
    entered.set_value();
    leave.get_future().wait();
  });
  entered.get_future().wait();
  std::future<void> paused =
      std::async(std::launch::async, [&] { gate.Pause(); });
  // The pass in progress holds Pause() back...
  EXPECT_EQ(paused.wait_for(std::chrono::milliseconds(100)),
            std::future_status::timeout);
  leave.set_value();
  reader.join();
  // ...and once it ends Pause() returns; every pass after sees the pause.
  paused.get();
  {
    PassGate::Shared pass = gate.SharedPass();
    EXPECT_TRUE(gate.paused());
  }
  EXPECT_TRUE(gate.Resume());  // the last pause ended
  EXPECT_FALSE(gate.paused());
}

TEST(PassGate, PausesNestAndOnlyTheLastResumeEndsThem) {
  PassGate gate;
  gate.Pause();
  gate.Pause();
  EXPECT_FALSE(gate.Resume());
  EXPECT_TRUE(gate.paused());
  EXPECT_TRUE(gate.Resume());
  EXPECT_FALSE(gate.paused());
}

TEST(PassGate, AnExclusivePassRunsAloneAmongManyReaders) {
  PassGate gate;
  // Written only in exclusive passes, read in shared ones: never seen torn,
  // and (ThreadSanitizer) never a race.
  uint64_t a = 0, b = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {  // more readers than the machine has CPUs
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        PassGate::Shared pass = gate.SharedPass();
        ASSERT_EQ(a, b);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // The writes overlap the reads: the readers are reading before the first
  // write, and the writes go on until readers have read between them
  // (on a loaded machine the readers may not be scheduled for a while; the
  // deadline only bounds a gate that shuts readers out for good).
  while (reads.load() < readers.size()) std::this_thread::yield();
  const uint64_t reads_before_writes = reads.load();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  constexpr uint64_t kWrites = 2000;
  uint64_t writes = 0;
  while (writes < kWrites ||
         (reads.load() == reads_before_writes &&
          std::chrono::steady_clock::now() < deadline)) {
    PassGate::Exclusive pass = gate.ExclusivePass();
    ++writes;
    a = writes;
    std::this_thread::yield();  // a reader let in now would see a != b
    b = writes;
  }
  stop.store(true);
  for (std::thread& t : readers) t.join();
  PassGate::Shared pass = gate.SharedPass();
  EXPECT_EQ(a, writes);
  EXPECT_EQ(b, writes);
  EXPECT_GT(reads.load(), reads_before_writes)
      << "no shared pass got in between the exclusive ones";
}

TEST(PassGate, ExclusivePassesExcludeEachOther) {
  PassGate gate;
  uint64_t count = 0;  // plain: only exclusive passes touch it
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        PassGate::Exclusive pass = gate.ExclusivePass();
        ++count;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(count, 4u * 5000u);
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
