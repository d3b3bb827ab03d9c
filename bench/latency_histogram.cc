#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace bench {

uint64_t LatencyHistogram::LowestOf(int index) {
  if (index < kLinearLimit) return static_cast<uint64_t>(index);
  const int rel = index - kLinearLimit;
  const int shift = rel / (1 << kSubBucketBits) + 1;
  const uint64_t sub = static_cast<uint64_t>(rel % (1 << kSubBucketBits)) +
                       (uint64_t{1} << kSubBucketBits);
  return sub << shift;
}

uint64_t LatencyHistogram::HighestOf(int index) {
  if (index < kLinearLimit) return static_cast<uint64_t>(index);
  const int shift = (index - kLinearLimit) / (1 << kSubBucketBits) + 1;
  return LowestOf(index) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

uint64_t LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  uint64_t rank = static_cast<uint64_t>(
      std::ceil(percent / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  if (rank == count_) return max_;  // the top recording is known exactly
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t lo = LowestOf(i);
      const uint64_t mid = lo + (HighestOf(i) - lo) / 2;
      return std::clamp(mid, min(), max());
    }
  }
  return max();
}

}  // namespace bench
