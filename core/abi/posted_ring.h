// core/abi/posted_ring.h: the shared ring of posted writes, one 4 KiB page
// per VM, laid out as ACRN's shared buffer (hypervisor/common/sbuf.c).
//
// ACRN's hypervisor carries a guest write that matches a registered
// descriptor without a slot and without a wait [posted]: it puts the
// descriptor's cookie into this ring, fires the upcall and lets the vCPU
// go on; the HSM drains the ring and signals each cookie's eventfd. One
// producer (the hypervisor, under its per-VM lock) and one consumer (the
// HSM, under its per-VM drain lock). `head` and `tail` are byte offsets
// into `entries`, as sbuf's are; the ring is empty when they are equal and
// full when the next tail would equal head.
//
//   producer: entry[tail] = cookie; StoreRelease(tail, next)  (put)
//   consumer: LoadAcquire(tail); read entries up to it;
//             StoreRelease(head, tail)                         (drain)
//
// The page is shared memory a hostile party may write at any time: both
// sides read every header field with an atomic load and check it against
// the geometry they set up before they use it; an index that is out of
// range or misaligned never addresses memory.
//
// Example:
//   ioreq::PostedRing ring;
//   ioreq::InitPostedRing(ring);
//   ioreq::PutPosted(ring, /*cookie=*/7);   // hypervisor
//   ioreq::DrainPosted(ring, [](uint64_t cookie) { Signal(cookie); });  // HSM
#ifndef IOREQ_CORE_ABI_POSTED_RING_H_
#define IOREQ_CORE_ABI_POSTED_RING_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "core/abi/abi.h"

namespace ioreq {

// struct shared_buf's header, 64 bytes.
struct PostedRingHeader {
  uint64_t magic;
  uint32_t ele_num;      // entries
  uint32_t ele_size;     // bytes per entry
  uint32_t head;         // byte offset of the next entry to read
  uint32_t tail;         // byte offset of the next entry to write
  uint64_t flags;        // sbuf's OVERWRITE_EN / OVERRUN_CNT_EN: 0 here
  uint32_t overrun_cnt;
  uint32_t size;         // ele_num * ele_size
  uint32_t padding[6];
};
static_assert(sizeof(PostedRingHeader) == 64, "sbuf's header is 64 bytes");

inline constexpr uint64_t kPostedRingMagic = 0x5AA57AA71AA13AA3ull;  // SBUF_MAGIC
inline constexpr uint32_t kPostedEntrySize = sizeof(uint64_t);
inline constexpr uint32_t kPostedEntries =
    (kPageSize - sizeof(PostedRingHeader)) / kPostedEntrySize;  // 504

struct alignas(kPageSize) PostedRing {
  PostedRingHeader header;
  uint64_t entries[kPostedEntries];
};
static_assert(sizeof(PostedRing) == kPageSize, "one 4 KiB page");
static_assert(offsetof(PostedRing, entries) == 64, "entries follow the header");

// Geometry, empty, magic. Not concurrent with anything.
void InitPostedRing(PostedRing& ring);

enum class PutResult {
  kPut,
  kFull,     // the consumer is behind: try again (ACRN's vCPU spins)
  kCorrupt,  // the header does not hold the geometry InitPostedRing() set
};
// The producer's sbuf_put(), without overwrite.
PutResult PutPosted(PostedRing& ring, uint64_t cookie);

struct DrainResult {
  uint32_t drained = 0;
  bool corrupt = false;  // nothing read: the header was not sane
};
// The consumer's loop of sbuf_get(): hands every entry between head and
// tail to `take`, oldest first, then publishes the new head.
DrainResult DrainPosted(PostedRing& ring,
                        absl::FunctionRef<void(uint64_t cookie)> take);

// True when the header holds InitPostedRing()'s geometry and both indices
// address an entry.
bool PostedRingSane(const PostedRing& ring);

}  // namespace ioreq

#endif  // IOREQ_CORE_ABI_POSTED_RING_H_
