// bench/latency_histogram.h: a log-linear latency histogram.
//
// Like HdrHistogram: values below 128 have a bucket each; above, every power
// of two is cut into 64 linear sub-buckets, so a recorded value is known to
// within 1/64 of itself (a relative error below 1.6%, reported at the
// bucket's midpoint: below 0.8%). The histogram covers the whole uint64
// range in 3776 counters (30 KiB), and Record() is a few shifts and an
// increment: no allocation, constant memory, mergeable across threads.
//
// Encode() writes the whole distribution compactly as text (the non-empty
// buckets, each as its index's distance from the previous one and its
// count), so a benchmark can carry it in its JSON and a report can draw the
// percentile distribution (reports/histogram.py reads it):
//   lh1:<count>:<min>:<max>:<d>.<c>,<d>.<c>,...
//
// Example:
//   bench::LatencyHistogram h;
//   h.Record(1234);  // nanoseconds
//   uint64_t p99 = h.Percentile(99.0);
//   std::string text = h.Encode();  // "lh1:1:1234:1234:594.1"
#ifndef IOREQ_BENCH_LATENCY_HISTOGRAM_H_
#define IOREQ_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;  // 64 sub-buckets per octave
  static constexpr int kLinearLimit = 2 << kSubBucketBits;  // 128
  static constexpr int kBucketCount =
      kLinearLimit + (63 - kSubBucketBits) * (1 << kSubBucketBits);

  void Record(uint64_t value) {
    ++counts_[IndexOf(value)];
    ++count_;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }
  void Merge(const LatencyHistogram& other);
  void Reset() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t max() const { return count_ ? max_ : 0; }  // exact
  uint64_t min() const { return count_ ? min_ : 0; }  // exact
  // The value below which `percent` of the recordings fall (bucket
  // midpoint, clamped to [min, max]); 0 when empty.
  uint64_t Percentile(double percent) const;

  static int IndexOf(uint64_t value) {
    if (value < static_cast<uint64_t>(kLinearLimit)) return static_cast<int>(value);
    const int msb = 63 - __builtin_clzll(value);
    const int shift = msb - kSubBucketBits;
    return kLinearLimit + (shift - 1) * (1 << kSubBucketBits) +
           static_cast<int>((value >> shift) - (uint64_t{1} << kSubBucketBits));
  }
  // Smallest and largest value that map to bucket `index`.
  static uint64_t LowestOf(int index);
  static uint64_t HighestOf(int index);

  // The distribution as text (format above); Decode() reads it back
  // (nullopt for anything else), for tests and tools.
  std::string Encode() const;
  static std::optional<LatencyHistogram> Decode(std::string_view text);
  static constexpr std::string_view kEncodingPrefix = "lh1:";

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = ~uint64_t{0};
};

}  // namespace bench

#endif  // IOREQ_BENCH_LATENCY_HISTOGRAM_H_
