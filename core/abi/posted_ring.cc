#include "core/abi/posted_ring.h"

#include <cstring>

namespace ioreq {
namespace {

template <typename T>
T Relaxed(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_RELAXED);
}

constexpr uint32_t kRingBytes = kPostedEntries * kPostedEntrySize;

bool IndexSane(uint32_t offset) {
  return offset < kRingBytes && offset % kPostedEntrySize == 0;
}

bool GeometrySane(const PostedRing& ring) {
  return Relaxed(ring.header.magic) == kPostedRingMagic &&
         Relaxed(ring.header.ele_size) == kPostedEntrySize &&
         Relaxed(ring.header.ele_num) == kPostedEntries &&
         Relaxed(ring.header.size) == kRingBytes;
}

uint32_t Next(uint32_t offset) {
  return offset + kPostedEntrySize == kRingBytes ? 0
                                                 : offset + kPostedEntrySize;
}

}  // namespace

void InitPostedRing(PostedRing& ring) {
  std::memset(static_cast<void*>(&ring), 0, sizeof(ring));
  ring.header.magic = kPostedRingMagic;
  ring.header.ele_num = kPostedEntries;
  ring.header.ele_size = kPostedEntrySize;
  ring.header.size = kRingBytes;
}

bool PostedRingSane(const PostedRing& ring) {
  return GeometrySane(ring) && IndexSane(Relaxed(ring.header.head)) &&
         IndexSane(Relaxed(ring.header.tail));
}

PutResult PutPosted(PostedRing& ring, uint64_t cookie) {
  // The producer owns tail. Acquire on head pairs with the consumer's
  // release store of head in DrainPosted(): the entries it has read are
  // free to overwrite.
  const uint32_t tail = Relaxed(ring.header.tail);
  const uint32_t head = __atomic_load_n(&ring.header.head, __ATOMIC_ACQUIRE);
  if (!GeometrySane(ring) || !IndexSane(tail) || !IndexSane(head)) {
    return PutResult::kCorrupt;
  }
  const uint32_t next = Next(tail);
  if (next == head) return PutResult::kFull;
  __atomic_store_n(&ring.entries[tail / kPostedEntrySize], cookie,
                   __ATOMIC_RELAXED);
  // sbuf_put()'s write barrier: the entry is visible before the tail that
  // covers it. Pairs with the acquire load of tail in DrainPosted().
  __atomic_store_n(&ring.header.tail, next, __ATOMIC_RELEASE);
  return PutResult::kPut;
}

DrainResult DrainPosted(PostedRing& ring,
                        absl::FunctionRef<void(uint64_t cookie)> take) {
  DrainResult result;
  // Acquire pairs with the release store of tail in PutPosted(): every
  // entry before it is written.
  const uint32_t tail = __atomic_load_n(&ring.header.tail, __ATOMIC_ACQUIRE);
  uint32_t head = Relaxed(ring.header.head);
  if (!GeometrySane(ring) || !IndexSane(tail) || !IndexSane(head)) {
    result.corrupt = true;
    return result;
  }
  while (head != tail) {
    take(Relaxed(ring.entries[head / kPostedEntrySize]));
    head = Next(head);
    ++result.drained;
  }
  // Release pairs with the acquire load of head in PutPosted(): the
  // entries read above may be reused.
  __atomic_store_n(&ring.header.head, head, __ATOMIC_RELEASE);
  return result;
}

}  // namespace ioreq
