// core/hsm/range_index.h: which client owns an address [find-client].
//
// The kernel keeps, per VM, a list of clients (newest first) and, per client,
// a list of inclusive ranges [start, end] of one type (PORTIO or MMIO). A
// request matches a range when the whole access lies inside it:
//     start <= addr && addr + size - 1 <= end
// and goes to the first client, newest first, with any matching range.
// Ranges may overlap, even across clients; the newest client wins. The model
// keeps exactly that rule (see docs/fidelity.md, "Overlapping ranges").
//
// Two implementations answer the same question:
//   KernelRangeList  the kernel's linear scan, kept as the reference
//                    (core/hsm/kernel_range_list.h, beside this file);
//   RangeIndex       a sorted interval index on absl::btree_map, which the
//                    dispatcher uses: O(log n) per lookup.
// Tests and the range_map fuzzer check that they always agree.
//
// Clients are named by their creation sequence number: a larger number is a
// newer client, and wins.
//
// Example:
//   ioreq::RangeIndex index;
//   index.Add(/*client=*/7, {ioreq::kTypePortIo, 0x3f8, 0x3ff});
//   std::optional<uint64_t> owner = index.Find(ioreq::kTypePortIo, 0x3fd, 1);
#ifndef IOREQ_CORE_HSM_RANGE_INDEX_H_
#define IOREQ_CORE_HSM_RANGE_INDEX_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"

namespace ioreq {

struct IoRange {
  uint32_t type;   // kTypePortIo or kTypeMmio
  uint64_t start;
  uint64_t end;    // inclusive
  bool operator==(const IoRange& o) const {
    return type == o.type && start == o.start && end == o.end;
  }
};

// Checks what acrn_ioreq_range_add() checks (end >= start) and that the type
// can match at all (PORTIO or MMIO).
absl::Status ValidateRange(const IoRange& range);

// Interval index over elementary segments: the address space is cut at every
// range boundary; each segment lists the ranges that cover it, newest client
// first. Any range that holds a whole access holds its first byte, so a
// lookup finds the segment of `addr` and takes the first cover whose end
// reaches `addr + size - 1`. Agrees with KernelRangeList::Find for every
// access whose last byte does not wrap past 2^64.
class RangeIndex {
 public:
  void Add(uint64_t client, const IoRange& range);
  // Removes one cover of this exact range of this client; false if none.
  bool Remove(uint64_t client, const IoRange& range);
  void RemoveClient(uint64_t client);
  std::optional<uint64_t> Find(uint32_t type, uint64_t addr,
                               uint64_t size) const;
  size_t segment_count() const;
  // Changes with every Add(), every Remove() that removed a cover and every
  // RemoveClient(): while it holds still, Find() gives the same answers, so
  // a caller may keep them (hsm_internal::RouteMemo). Never 0. May be read
  // without the lock that guards the index: acquire pairs with the release
  // store of every edit (NextGeneration()), so an answer remembered under a
  // generation read here was looked up in the index as that edit left it.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

 private:
  struct Cover {
    uint64_t client;
    uint64_t start;
    uint64_t end;
  };
  struct Segment {
    uint64_t last;  // inclusive
    absl::InlinedVector<Cover, 2> covers;  // newest client first
  };
  using SegmentMap = absl::btree_map<uint64_t, Segment>;

  SegmentMap* MapFor(uint32_t type);
  const SegmentMap* MapFor(uint32_t type) const;
  static void SplitBefore(SegmentMap& map, uint64_t at);
  static void InsertCover(Segment& segment, const Cover& cover);
  // Edits are serialised by the owner's lock: a load and a store, no RMW.
  void NextGeneration() {
    generation_.store(generation_.load(std::memory_order_relaxed) + 1,
                      std::memory_order_release);
  }

  SegmentMap pio_;
  SegmentMap mmio_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_RANGE_INDEX_H_
