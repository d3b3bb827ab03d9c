"""The latency histograms the benchmarks carry in their labels.

bench/latency_histogram.h writes each benchmark run's whole distribution as
`lh1:<count>:<min>:<max>:<d>.<c>,...` (the non-empty buckets of a
log-linear histogram: each index's distance from the previous one, and its
count). This module reads that text, merges the repetitions of one
benchmark, and gives the percentile distribution HdrHistogram draws:
latency against percentile on a 1/(1 - p) axis.
"""

PREFIX = "lh1:"
SUB_BUCKET_BITS = 6
LINEAR_LIMIT = 2 << SUB_BUCKET_BITS  # 128
BUCKET_COUNT = LINEAR_LIMIT + (63 - SUB_BUCKET_BITS) * (1 << SUB_BUCKET_BITS)


def index_of(value):
    """The bucket of `value` (LatencyHistogram::IndexOf)."""
    if value < LINEAR_LIMIT:
        return value
    msb = value.bit_length() - 1
    shift = msb - SUB_BUCKET_BITS
    return (LINEAR_LIMIT + (shift - 1) * (1 << SUB_BUCKET_BITS)
            + (value >> shift) - (1 << SUB_BUCKET_BITS))


def lowest_of(index):
    """The smallest value of bucket `index` (LatencyHistogram::LowestOf)."""
    if index < LINEAR_LIMIT:
        return index
    rel = index - LINEAR_LIMIT
    shift = rel // (1 << SUB_BUCKET_BITS) + 1
    sub = rel % (1 << SUB_BUCKET_BITS) + (1 << SUB_BUCKET_BITS)
    return sub << shift


def highest_of(index):
    if index < LINEAR_LIMIT:
        return index
    shift = (index - LINEAR_LIMIT) // (1 << SUB_BUCKET_BITS) + 1
    return lowest_of(index) + (1 << shift) - 1


class Histogram:
    def __init__(self):
        self.counts = {}  # bucket index -> count
        self.count = 0
        self.min = None
        self.max = None

    def merge(self, other):
        for i, c in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + c
        self.count += other.count
        if other.count:
            self.min = other.min if self.min is None else min(self.min, other.min)
            self.max = other.max if self.max is None else max(self.max, other.max)

    def percentile(self, percent):
        """As LatencyHistogram::Percentile(): the bucket midpoint, clamped to
        [min, max]; the top rank is the exact maximum."""
        if not self.count:
            return 0
        percent = min(max(percent, 0.0), 100.0)
        rank = -(-percent * self.count // 100)  # ceil
        rank = int(min(max(rank, 1), self.count))
        if rank == self.count:
            return self.max
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                lo = lowest_of(i)
                mid = lo + (highest_of(i) - lo) // 2
                return min(max(mid, self.min), self.max)
        return self.max

    def distribution(self):
        """(percentile, value) points from p0 to the maximum, for a plot on
        a 1/(1 - p) axis: every bucket's upper edge, as HdrHistogram's
        percentile distribution lists it."""
        points = []
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            p = 100.0 * seen / self.count
            points.append((p, min(highest_of(i), self.max)))
        return points


def encode(h):
    """The lh1 text of a Histogram (what LatencyHistogram::Encode() writes);
    decode(encode(h)) gives h back."""
    pairs = []
    previous = 0
    for i in sorted(h.counts):
        pairs.append("%d.%d" % (i - previous, h.counts[i]))
        previous = i
    if not h.count:
        return PREFIX + "0:0:0:"
    return PREFIX + "%d:%d:%d:%s" % (h.count, h.min, h.max, ",".join(pairs))


def decode(text):
    """A Histogram, or None for text that is not an lh1 encoding (or is
    malformed: the report then draws no distribution for that run)."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        return None
    parts = text[len(PREFIX):].split(":")
    if len(parts) != 4:
        return None
    try:
        count, low, high = int(parts[0]), int(parts[1]), int(parts[2])
        h = Histogram()
        index = 0
        total = 0
        if parts[3]:
            for pair in parts[3].split(","):
                delta, n = pair.split(".")
                index += int(delta)
                n = int(n)
                if n <= 0 or index >= BUCKET_COUNT or int(delta) < 0:
                    return None
                h.counts[index] = h.counts.get(index, 0) + n
                total += n
    except ValueError:
        return None
    if total != count or (count and low > high):
        return None
    h.count = count
    h.min, h.max = (low, high) if count else (None, None)
    return h


def merged(labels):
    """One Histogram of every decodable label (a benchmark's repetitions);
    None if there is none."""
    out = None
    for label in labels:
        h = decode(label)
        if h is None:
            continue
        if out is None:
            out = Histogram()
        out.merge(h)
    return out
