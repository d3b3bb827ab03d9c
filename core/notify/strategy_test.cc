// The strategy list (core/notify/strategy.h): names, and what each needs
// from the kernel.
#include "core/notify/strategy.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "core/notify/uring_doorbell.h"
#include "gtest/gtest.h"
#include "tools/testing/refuse_io_uring.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace ioreq {
namespace {

bool NeedsIoUring(Strategy s) {
  return s == Strategy::kUring || s == Strategy::kUringEventfd;
}

TEST(Strategy, NamesRoundTripAndUnknownIsAnError) {
  for (const std::string& name : StrategyNames()) {
    absl::StatusOr<Strategy> s = ParseStrategy(name);
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_EQ(StrategyName(*s), name);
  }
  EXPECT_FALSE(ParseStrategy("carrier-pigeon").ok());
}

TEST(Strategy, KernelHasWhatTheUringStrategiesNeed) {
  // io_uring works on the machines this project runs on (kernel 6.x); in a
  // container that refuses it, this and every uring test skip, naming why.
  IOREQ_SKIP_UNLESS_OFFERED(Strategy::kUring);
  EXPECT_TRUE(ProbeUring().ok()) << ProbeUring();
  for (Strategy s : kAllStrategies) {
    EXPECT_TRUE(CheckStrategySupported(s).ok()) << StrategyName(s);
  }
}

// In a fresh process whose kernel refuses io_uring with `err`: exits 0 when
// exactly the io_uring strategies are refused, each naming the refused call
// and `err`; otherwise prints what differed and exits 1.
[[noreturn]] void CheckEachStrategyWithIoUringRefused(int err) {
  if (absl::Status s = testing::RefuseIoUring(err); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
  const std::string why =
      std::string("io_uring_setup failed: ") + std::strerror(err);
  bool as_expected = true;
  for (Strategy s : kAllStrategies) {
    const absl::Status offered = CheckStrategySupported(s);
    const bool right =
        NeedsIoUring(s) ? offered.code() == absl::StatusCode::kUnavailable &&
                              absl::StrContains(offered.message(), why)
                        : offered.ok();
    if (!right) {
      std::fprintf(stderr, "%s: %s\n", StrategyName(s),
                   offered.ToString().c_str());
      as_expected = false;
    }
  }
  std::exit(as_expected ? 0 : 1);
}

// A container runtime's seccomp profile, or kernel.io_uring_disabled=2,
// answers EPERM; a kernel built without io_uring answers ENOSYS.
TEST(Strategy, OnlyTheUringStrategiesAreRefusedWhereTheKernelRefusesIoUring) {
  // A fresh process (the filter cannot be lifted), with no ring pooled.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (int err : {EPERM, ENOSYS}) {
    EXPECT_EXIT(CheckEachStrategyWithIoUringRefused(err),
                ::testing::ExitedWithCode(0), "")
        << std::strerror(err);
  }
}

}  // namespace
}  // namespace ioreq
