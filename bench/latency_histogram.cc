#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <string>

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

std::string LatencyHistogram::Encode() const {
  std::string out(kEncodingPrefix);
  out += std::to_string(count_) + ":" + std::to_string(min()) + ":" +
         std::to_string(max()) + ":";
  int previous = 0;
  bool first = true;
  for (int i = 0; i < kBucketCount; ++i) {
    if (counts_[i] == 0) continue;
    if (!first) out += ',';
    out += std::to_string(i - previous) + "." + std::to_string(counts_[i]);
    previous = i;
    first = false;
  }
  return out;
}

namespace {

// Reads a decimal number, then `stop` unless the text ends there (which
// `*stopped` tells); false if there is no number or something else follows.
bool Number(std::string_view& text, char stop, uint64_t* value,
            bool* stopped = nullptr) {
  size_t n = 0;
  uint64_t v = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
    const uint64_t digit = static_cast<uint64_t>(text[n] - '0');
    // v * 10 + digit would pass 2^64 - 1: refused, not wrapped. Exact, so
    // every 64-bit value an encoding can hold decodes.
    if (v > (~uint64_t{0} - digit) / 10) return false;
    v = v * 10 + digit;
    ++n;
  }
  if (n == 0) return false;
  text.remove_prefix(n);
  const bool at_stop = !text.empty();
  if (at_stop) {
    if (text.front() != stop) return false;
    text.remove_prefix(1);
  }
  if (stopped != nullptr) *stopped = at_stop;
  *value = v;
  return true;
}

}  // namespace

std::optional<LatencyHistogram> LatencyHistogram::Decode(std::string_view text) {
  if (text.substr(0, kEncodingPrefix.size()) != kEncodingPrefix) {
    return std::nullopt;
  }
  text.remove_prefix(kEncodingPrefix.size());
  LatencyHistogram h;
  uint64_t count = 0, min = 0, max = 0;
  if (!Number(text, ':', &count) || !Number(text, ':', &min) ||
      !Number(text, ':', &max)) {
    return std::nullopt;
  }
  uint64_t index = 0, total = 0;
  while (!text.empty()) {
    uint64_t delta = 0, n = 0;
    bool comma = false;
    if (!Number(text, '.', &delta) || !Number(text, ',', &n, &comma) || n == 0) {
      return std::nullopt;
    }
    if (comma && text.empty()) return std::nullopt;  // a comma promises more
    index += delta;
    if (index >= static_cast<uint64_t>(kBucketCount)) return std::nullopt;
    h.counts_[index] += n;
    total += n;
  }
  if (total != count || (count > 0 && min > max)) return std::nullopt;
  h.count_ = count;
  h.min_ = count ? min : ~uint64_t{0};
  h.max_ = count ? max : 0;
  return h;
}

}  // namespace bench
