#include "bench/internal/benchmark_flags.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

absl::Status Check(std::vector<std::string> args) {
  return ValidateBenchmarkArgs(args, {"--quick", "--help"});
}

TEST(ValidateBenchmarkArgs, AcceptsWhatTheLibraryHonours) {
  EXPECT_TRUE(Check({}).ok());
  EXPECT_TRUE(Check({"--quick", "--benchmark_repetitions=3",
                     "--benchmark_filter=RoundTrip/.*", "--benchmark_filter=-Slot",
                     "--benchmark_min_time=0.5", "--benchmark_min_warmup_time=0",
                     "--benchmark_format=json", "--benchmark_out_format=csv",
                     "--benchmark_color=auto", "--benchmark_list_tests",
                     "--benchmark_counters_tabular=true", "--benchmark_time_unit=us",
                     "--benchmark_context=a=b,c=d", "--v=1", "--help"})
                  .ok());
  const std::string out = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                          "/benchmark_flags_test.json";
  EXPECT_TRUE(Check({"--benchmark_out=" + out}).ok());
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "the probe must not leave a file";
}

// Each bound is inclusive: its last value is accepted, the next refused.
TEST(ValidateBenchmarkArgs, AcceptsEachRangeUpToItsBounds) {
  for (const char* good : {
           "--benchmark_repetitions=1", "--benchmark_repetitions=10000",
           "--v=0", "--v=10", "--benchmark_min_time=86400",
           "--benchmark_min_warmup_time=86400", "--benchmark_time_unit=ns",
           "--benchmark_time_unit=us", "--benchmark_time_unit=ms",
           "--benchmark_time_unit=s"}) {
    EXPECT_TRUE(Check({good}).ok()) << good;
  }
  for (const char* bad : {"--benchmark_repetitions=10001", "--v=11",
                          "--benchmark_min_time=86400.5"}) {
    EXPECT_FALSE(Check({bad}).ok()) << bad;
  }
}

// A leading '-' negates the filter and is not part of its expression: "-*"
// is the expression "*", which repeats nothing.
TEST(ValidateBenchmarkArgs, ANegatedFilterIsCheckedWithoutItsDash) {
  EXPECT_TRUE(Check({"--benchmark_filter=-RoundTrip"}).ok());
  EXPECT_FALSE(Check({"--benchmark_filter=-*"}).ok());
  EXPECT_TRUE(Check({"--benchmark_filter=a-*"}).ok());
}

// The probe that --benchmark_out can be written leaves a file that was
// there before it: only a file it made itself is removed.
TEST(ValidateBenchmarkArgs, AnExistingOutputFileIsKept) {
  const std::string out = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                          "/benchmark_flags_test_existing.json";
  FILE* f = std::fopen(out.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{}", f);
  std::fclose(f);
  EXPECT_TRUE(Check({"--benchmark_out=" + out}).ok());
  EXPECT_EQ(access(out.c_str(), F_OK), 0) << "the user's file was removed";
  std::remove(out.c_str());
}

TEST(ValidateBenchmarkArgs, RejectsEveryBadValueWithTheFlagNamed) {
  for (const char* bad : {
           "--benchmark_repetitions=-3", "--benchmark_repetitions=0",
           "--benchmark_repetitions=abc", "--benchmark_repetitions=99999999999",
           "--benchmark_repetitions=", "--benchmark_filter=[",
           "--benchmark_filter=-(", "--benchmark_min_time=-1",
           "--benchmark_min_time=0", "--benchmark_min_time=nan",
           "--benchmark_min_time=1e300", "--benchmark_min_warmup_time=-0.5",
           "--benchmark_format=xml", "--benchmark_out_format=", "--benchmark_color=maybe",
           "--benchmark_list_tests=2", "--benchmark_time_unit=years",
           "--benchmark_context=novalue", "--benchmark_out=/nonexistent/dir/x.json",
           "--benchmark_out=", "--v=abc", "--v=-1"}) {
    absl::Status s = Check({bad});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    const std::string flag(bad, std::string(bad).find('='));
    EXPECT_TRUE(absl::StrContains(s.message(), flag)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "accepts")) << s;
  }
}

TEST(ValidateBenchmarkArgs, RejectsUnknownFlagsStrayWordsAndMissingValues) {
  EXPECT_TRUE(absl::StrContains(Check({"--nope"}).message(), "unknown flag '--nope'"));
  EXPECT_TRUE(absl::StrContains(Check({"stray"}).message(), "unexpected argument 'stray'"));
  // Three dashes: a flag named "-benchmark_filter", which there is not.
  EXPECT_TRUE(absl::StrContains(Check({"---benchmark_filter=x"}).message(),
                                "unknown flag '---benchmark_filter=x'"));
  EXPECT_TRUE(absl::StrContains(Check({"--benchmark_filter"}).message(), "needs a value"));
  EXPECT_FALSE(Check({"--quick=1"}).ok());
}

}  // namespace
}  // namespace bench
