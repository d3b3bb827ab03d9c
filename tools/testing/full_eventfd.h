// tools/testing/full_eventfd.h: a blocking eventfd whose counter is full,
// and a way to tell whether a call waited on it.
//
// The kernel's eventfd_signal() never waits: where the counter is full it
// saturates. A user-space write(2) of 1 into a *blocking* eventfd at
// 2^64 - 2 waits until a reader reads. A test that hands such an eventfd to
// code that must signal the way the kernel does runs the signalling call
// here: if the call has not returned within the limit, the counter is read
// (so the write finishes and the test ends) and the answer is false.
//
// Example:
//   ioreq::testing::FullEventfd full;
//   ASSERT_TRUE(full.ok());
//   EXPECT_TRUE(full.ReturnsWithoutWaiting([&] { table.Handle(access); }));
//   EXPECT_EQ(full.Take(), ioreq::testing::FullEventfd::kFull);
#ifndef IOREQ_TOOLS_TESTING_FULL_EVENTFD_H_
#define IOREQ_TOOLS_TESTING_FULL_EVENTFD_H_

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace ioreq::testing {

class FullEventfd {
 public:
  // The most an eventfd's counter holds after write(2): 2^64 - 2.
  static constexpr uint64_t kFull = 0xFFFFFFFFFFFFFFFEull;

  FullEventfd();  // eventfd(0, EFD_CLOEXEC), then kFull written into it
  ~FullEventfd();
  FullEventfd(const FullEventfd&) = delete;
  FullEventfd& operator=(const FullEventfd&) = delete;

  // True when the eventfd was made and filled.
  bool ok() const { return ok_; }
  int fd() const { return fd_; }

  // Runs `call` on a thread of its own; true when it returned within
  // `limit`. Where it did not, reads the counter once so that a waiting
  // write completes, joins, and returns false.
  bool ReturnsWithoutWaiting(const std::function<void()>& call,
                             absl::Duration limit = absl::Seconds(5));

  // Reads and resets the counter; 0 when it is 0 (never blocks).
  uint64_t Take();

 private:
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace ioreq::testing

#endif  // IOREQ_TOOLS_TESTING_FULL_EVENTFD_H_
