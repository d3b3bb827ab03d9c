#include "core/hsm/range_index.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"
#include "core/abi/abi.h"

namespace ioreq {

absl::Status ValidateRange(const IoRange& range) {
  if (range.type != kTypePortIo && range.type != kTypeMmio) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "range type %u: only PORTIO (0) and MMIO (1) ranges can match",
        range.type));
  }
  if (range.end < range.start) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "range end 0x%x is below start 0x%x", range.end, range.start));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// RangeIndex

RangeIndex::SegmentMap* RangeIndex::MapFor(uint32_t type) {
  if (type == kTypePortIo) return &pio_;
  if (type == kTypeMmio) return &mmio_;
  return nullptr;
}

const RangeIndex::SegmentMap* RangeIndex::MapFor(uint32_t type) const {
  return const_cast<RangeIndex*>(this)->MapFor(type);
}

// Makes `at` the first address of a segment if a segment spans across it.
void RangeIndex::SplitBefore(SegmentMap& map, uint64_t at) {
  auto it = map.upper_bound(at);
  if (it == map.begin()) return;
  --it;
  if (it->first == at || it->second.last < at) return;
  Segment tail{it->second.last, it->second.covers};
  it->second.last = at - 1;
  map.emplace(at, std::move(tail));
}

void RangeIndex::InsertCover(Segment& segment, const Cover& cover) {
  auto pos = std::find_if(segment.covers.begin(), segment.covers.end(),
                          [&](const Cover& c) { return c.client < cover.client; });
  segment.covers.insert(pos, cover);
}

void RangeIndex::Add(uint64_t client, const IoRange& range) {
  SegmentMap* map = MapFor(range.type);
  if (map == nullptr || range.end < range.start) return;
  NextGeneration();
  const Cover cover{client, range.start, range.end};
  SplitBefore(*map, range.start);
  if (range.end != std::numeric_limits<uint64_t>::max()) {
    SplitBefore(*map, range.end + 1);
  }
  // Existing segments inside the range get the cover; the gaps between them
  // become new segments. Gaps are collected first: inserting into a btree
  // invalidates its iterators.
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t next = range.start;  // first address not yet covered
  bool done = false;
  for (auto it = map->lower_bound(range.start);
       it != map->end() && it->first <= range.end; ++it) {
    if (it->first > next) gaps.emplace_back(next, it->first - 1);
    InsertCover(it->second, cover);
    if (it->second.last == range.end) {
      done = true;
      break;
    }
    next = it->second.last + 1;
  }
  if (!done) gaps.emplace_back(next, range.end);
  for (const auto& [first, last] : gaps) {
    map->emplace(first, Segment{last, {cover}});
  }
}

bool RangeIndex::Remove(uint64_t client, const IoRange& range) {
  SegmentMap* map = MapFor(range.type);
  if (map == nullptr) return false;
  bool found = false;
  std::vector<uint64_t> empty;
  for (auto it = map->lower_bound(range.start);
       it != map->end() && it->first <= range.end; ++it) {
    auto& covers = it->second.covers;
    auto c = std::find_if(covers.begin(), covers.end(), [&](const Cover& c) {
      return c.client == client && c.start == range.start &&
             c.end == range.end;
    });
    if (c == covers.end()) continue;
    found = true;
    covers.erase(c);
    if (covers.empty()) empty.push_back(it->first);
  }
  for (uint64_t key : empty) map->erase(key);
  if (found) NextGeneration();
  return found;
}

void RangeIndex::RemoveClient(uint64_t client) {
  NextGeneration();
  for (SegmentMap* map : {&pio_, &mmio_}) {
    std::vector<uint64_t> empty;
    for (auto& [first, segment] : *map) {
      auto& covers = segment.covers;
      covers.erase(std::remove_if(covers.begin(), covers.end(),
                                  [&](const Cover& c) { return c.client == client; }),
                   covers.end());
      if (covers.empty()) empty.push_back(first);
    }
    for (uint64_t key : empty) map->erase(key);
  }
}

std::optional<uint64_t> RangeIndex::Find(uint32_t type, uint64_t addr,
                                         uint64_t size) const {
  const SegmentMap* map = MapFor(type);
  if (map == nullptr || size == 0) return std::nullopt;
  const uint64_t last = addr + (size - 1);
  if (last < addr) return std::nullopt;  // wraps: never valid input
  auto it = map->upper_bound(addr);
  if (it == map->begin()) return std::nullopt;
  --it;
  if (it->second.last < addr) return std::nullopt;
  for (const Cover& c : it->second.covers) {
    if (c.end >= last) return c.client;
  }
  return std::nullopt;
}

size_t RangeIndex::segment_count() const { return pio_.size() + mmio_.size(); }

}  // namespace ioreq
