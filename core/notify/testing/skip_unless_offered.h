// core/notify/testing/skip_unless_offered.h: skip a test where the kernel
// refuses what its strategy needs.
//
// io_uring is refused by container runtimes' default seccomp profiles
// (Docker since 25.0, containerd), by `sysctl kernel.io_uring_disabled=2`
// and by kernels built without it. There a test of a uring strategy skips,
// naming the refusal, and the others run; where io_uring works, nothing is
// skipped. `bazel test --run_under=//tools/testing:without_io_uring` runs
// the suite so.
//
// Example:
//   TEST_P(Conformance, NothingLost) {
//     IOREQ_SKIP_UNLESS_OFFERED(std::get<0>(GetParam()));
//     ...
//   }
//   template <typename Bell>
//   class DoorbellTest : public ::testing::Test {
//     void SetUp() override { IOREQ_SKIP_UNLESS_OFFERED(StrategyOf<Bell>()); }
//   };
#ifndef IOREQ_CORE_NOTIFY_TESTING_SKIP_UNLESS_OFFERED_H_
#define IOREQ_CORE_NOTIFY_TESTING_SKIP_UNLESS_OFFERED_H_

#include "absl/status/status.h"
#include "core/notify/strategy.h"
#include "gtest/gtest.h"

namespace ioreq {

// The strategy whose doorbell `Bell` is.
template <typename Bell>
Strategy StrategyOf() {
  return *ParseStrategy(Bell::kName);
}

}  // namespace ioreq

// In a test body or a fixture's SetUp(): returns, the test skipped with the
// kernel's refusal, unless ioreq::CheckStrategySupported(strategy).
#define IOREQ_SKIP_UNLESS_OFFERED(strategy)                                 \
  if (const ::absl::Status ioreq_offered =                                  \
          ::ioreq::CheckStrategySupported(strategy);                        \
      !ioreq_offered.ok())                                                  \
  GTEST_SKIP() << ioreq_offered.message()

#endif  // IOREQ_CORE_NOTIFY_TESTING_SKIP_UNLESS_OFFERED_H_
