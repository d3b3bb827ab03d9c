// SleepingBells: n `uring` doorbells, each with a thread asleep in it.
//
// A test of how wakes go out (batched into one submit, carried by a sleep,
// spilled when a ring is full) needs many waiters that are truly asleep
// before it rings, so that every ring is a message it can count. The
// constructor returns once each thread sleeps in io_uring_enter; the
// destructor joins them, so every bell must have been rung by then.
//
// Example:
//   SleepingBells sleepers(40);
//   UringDoorbell::RingMany(sleepers.bells().data(), sleepers.size());
//   sleepers.Join();
//   EXPECT_EQ(sleepers.woke(), 40);
#ifndef IOREQ_CORE_NOTIFY_TESTING_SLEEPING_BELLS_H_
#define IOREQ_CORE_NOTIFY_TESTING_SLEEPING_BELLS_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/notify/testing/asleep.h"
#include "core/notify/uring_doorbell.h"
#include "gtest/gtest.h"

namespace ioreq {

class SleepingBells {
 public:
  explicit SleepingBells(int n) : tids_(n) {
    for (int i = 0; i < n; ++i) {
      owned_.push_back(std::make_unique<UringDoorbell>());
      bells_.push_back(owned_.back().get());
    }
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, i] {
        tids_[i].store(gettid());
        bells_[i]->Wait();
        woke_.fetch_add(1);
      });
    }
    for (const std::atomic<pid_t>& tid : tids_) {
      EXPECT_TRUE(AwaitAsleep(tid, SYS_io_uring_enter, absl::Seconds(10)))
          << "a sleeper never slept";
    }
  }
  ~SleepingBells() { Join(); }
  SleepingBells(const SleepingBells&) = delete;
  SleepingBells& operator=(const SleepingBells&) = delete;

  const std::vector<UringDoorbell*>& bells() const { return bells_; }
  size_t size() const { return bells_.size(); }
  // Waits until every sleeper has returned.
  void Join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // How many sleepers have returned.
  int woke() const { return woke_.load(); }

 private:
  std::vector<std::unique_ptr<UringDoorbell>> owned_;
  std::vector<UringDoorbell*> bells_;
  std::vector<std::atomic<pid_t>> tids_;
  std::atomic<int> woke_{0};
  std::vector<std::thread> threads_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_TESTING_SLEEPING_BELLS_H_
