#include "bench/latency_histogram.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace bench {
namespace {

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(LatencyHistogram::IndexOf(0), 0);
  EXPECT_EQ(LatencyHistogram::IndexOf(127), 127);
  EXPECT_EQ(LatencyHistogram::IndexOf(128), 128);
  EXPECT_EQ(LatencyHistogram::IndexOf(~0ull), LatencyHistogram::kBucketCount - 1);
  for (int i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LatencyHistogram::HighestOf(i) + 1, LatencyHistogram::LowestOf(i + 1))
        << i;
    ASSERT_EQ(LatencyHistogram::IndexOf(LatencyHistogram::LowestOf(i)), i);
    ASSERT_EQ(LatencyHistogram::IndexOf(LatencyHistogram::HighestOf(i)), i);
  }
}

TEST(LatencyHistogram, RelativeErrorIsBounded) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const int b = LatencyHistogram::IndexOf(v);
    const uint64_t lo = LatencyHistogram::LowestOf(b);
    const uint64_t hi = LatencyHistogram::HighestOf(b);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo), static_cast<double>(v) / 64.0 + 1);
  }
}

TEST(LatencyHistogram, PercentilesMatchSortedSamples) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> dist(8.0, 1.0);
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 50000; ++i) {
    const uint64_t v = static_cast<uint64_t>(dist(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const uint64_t exact =
        samples[static_cast<size_t>(std::ceil(p / 100 * samples.size())) - 1];
    const double got = static_cast<double>(h.Percentile(p));
    EXPECT_NEAR(got, static_cast<double>(exact), exact / 60.0 + 1) << p;
  }
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.Percentile(100), samples.back());
  EXPECT_EQ(h.count(), samples.size());
}

// Below kLinearLimit every value has its own bucket, so percentiles are
// exact: the nearest rank, ceil(p / 100 * count), counted from 1.
TEST(LatencyHistogram, PercentileIsTheNearestRank) {
  LatencyHistogram h;
  for (uint64_t v : {10, 20, 30, 40}) h.Record(v);
  EXPECT_EQ(h.Percentile(25), 10u);
  EXPECT_EQ(h.Percentile(26), 20u);
  EXPECT_EQ(h.Percentile(50), 20u);
  EXPECT_EQ(h.Percentile(51), 30u);
  EXPECT_EQ(h.Percentile(75), 30u);
  EXPECT_EQ(h.Percentile(0), 10u);
  EXPECT_EQ(h.Percentile(100), 40u);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.Record(10);
  b.Record(1000000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.max(), 1000000u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.Percentile(50), 10u);
  LatencyHistogram empty;
  EXPECT_EQ(empty.Percentile(50), 0u);
  EXPECT_EQ(empty.max(), 0u);
}

TEST(LatencyHistogram, EncodesTheWholeDistributionAndDecodesIt) {
  LatencyHistogram h;
  EXPECT_EQ(h.Encode(), "lh1:0:0:0:");
  h.Record(1234);
  EXPECT_EQ(h.Encode(),
            "lh1:1:1234:1234:" +
                std::to_string(LatencyHistogram::IndexOf(1234)) + ".1");
  for (uint64_t v : {5u, 5u, 200u, 70000u, 3000000u}) h.Record(v);
  std::optional<LatencyHistogram> back = LatencyHistogram::Decode(h.Encode());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->count(), h.count());
  EXPECT_EQ(back->min(), 5u);
  EXPECT_EQ(back->max(), 3000000u);
  for (double p : {10.0, 50.0, 90.0, 99.0, 100.0}) {
    EXPECT_EQ(back->Percentile(p), h.Percentile(p)) << p;
  }
  EXPECT_EQ(back->Encode(), h.Encode());
}

TEST(LatencyHistogram, DecodeRefusesWhatItDidNotWrite) {
  for (const char* bad :
       {"", "lh2:1:1:1:1.1", "lh1:", "lh1:1:1:1", "lh1:2:1:1:1.1",
        "lh1:1:1:1:99999.1", "lh1:1:1:1:1.0", "lh1:1:1:1:x.1",
        "lh1:1:5:1:1.1", "lh1:1:1:1:1.1,", "lh1:99999999999999999999:0:0:"}) {
    EXPECT_FALSE(LatencyHistogram::Decode(bad).has_value()) << bad;
  }
}

// Decoding's edges: one sample (min equals max), the last bucket and the
// one past it, a number one past the 64-bit range (refused, not wrapped).
TEST(LatencyHistogram, DecodeTakesEveryEdgeItCanWrite) {
  LatencyHistogram one;
  one.Record(777);
  std::optional<LatencyHistogram> back = LatencyHistogram::Decode(one.Encode());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->min(), 777u);
  EXPECT_EQ(back->max(), 777u);
  const int top = LatencyHistogram::kBucketCount - 1;
  EXPECT_TRUE(LatencyHistogram::Decode("lh1:1:1:1:" + std::to_string(top) + ".1")
                  .has_value());
  EXPECT_FALSE(LatencyHistogram::Decode("lh1:1:1:1:" + std::to_string(top + 1) + ".1")
                   .has_value());
  EXPECT_TRUE(LatencyHistogram::Decode("lh1:1:0:18446744073709551615:0.1").has_value());
  EXPECT_FALSE(LatencyHistogram::Decode("lh1:1:0:18446744073709551616:0.1").has_value());
  // A decoded empty histogram takes its first sample as both extremes.
  std::optional<LatencyHistogram> empty = LatencyHistogram::Decode("lh1:0:0:0:");
  ASSERT_TRUE(empty.has_value());
  empty->Record(0);
  EXPECT_EQ(empty->min(), 0u);
  EXPECT_EQ(empty->max(), 0u);
  EXPECT_EQ(empty->count(), 1u);
}

// The first bucket counts like any other toward a rank.
TEST(LatencyHistogram, SamplesInTheFirstBucketCountTowardPercentiles) {
  LatencyHistogram h;
  for (int i = 0; i < 3; ++i) h.Record(0);
  h.Record(1000000);
  EXPECT_EQ(h.Percentile(50), 0u);
  EXPECT_EQ(h.Percentile(75), 0u);
  EXPECT_EQ(h.Percentile(100), 1000000u);
}

}  // namespace
}  // namespace bench
