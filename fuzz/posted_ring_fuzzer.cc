// posted_ring: the posted-write ring [posted] as a hostile party sees it.
// Input: fixed 8-byte records (opcode, argument, 32-bit value), so that a
// mutation changes one operation, not every later one. The producer puts
// cookies, the consumer drains, and a hostile writer stores bytes and
// 32-bit words anywhere in the header or the first entries. Oracle: while
// nothing hostile has touched the ring since it was set up, every drain
// returns exactly the cookies put, in order, and a put fails only when the
// ring holds entries - 1; once touched, no put or drain reads or writes
// outside the page (AddressSanitizer), a ring that is not sane is refused
// by both sides, and a drain never returns more than the ring can hold.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>

#include "core/abi/posted_ring.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

struct Record {
  uint8_t op;
  uint8_t arg;
  uint16_t pad;
  uint32_t value;
};
static_assert(sizeof(Record) == 8, "fixed-size records");

PostedRing ring;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InitPostedRing(ring);
  std::deque<uint64_t> shadow;  // what was put and not drained
  bool touched = false;         // a hostile write since the last set-up
  uint64_t next_cookie = 1;
  const size_t steps = size / sizeof(Record);
  for (size_t step = 0; step < steps; ++step) {
    Record r;
    std::memcpy(&r, data + step * sizeof(Record), sizeof(r));
    switch (r.op % 5) {
      case 0: {  // the hypervisor puts
        const uint64_t cookie = next_cookie++;
        const PutResult p = PutPosted(ring, cookie);
        if (!touched) {
          const bool full = shadow.size() == kPostedEntries - 1;
          FUZZ_CHECK(p == (full ? PutResult::kFull : PutResult::kPut),
                     "step %zu: put into an untouched ring holding %zu: %d",
                     step, shadow.size(), static_cast<int>(p));
          if (p == PutResult::kPut) shadow.push_back(cookie);
        } else if (!PostedRingSane(ring)) {
          FUZZ_CHECK(p == PutResult::kCorrupt,
                     "step %zu: put into a ring that is not sane", step);
        }
        break;
      }
      case 1: {  // the HSM drains
        const bool sane = PostedRingSane(ring);
        std::deque<uint64_t> got;
        const DrainResult d =
            DrainPosted(ring, [&](uint64_t c) { got.push_back(c); });
        FUZZ_CHECK(d.drained == got.size() && d.drained < kPostedEntries,
                   "step %zu: drained %u", step, d.drained);
        FUZZ_CHECK(d.corrupt == !sane, "step %zu: corrupt %d, sane %d", step,
                   d.corrupt, sane);
        if (!touched) {
          FUZZ_CHECK(got == shadow, "step %zu: drained %zu, put %zu (or out "
                     "of order)", step, got.size(), shadow.size());
          shadow.clear();
        }
        break;
      }
      case 2: {  // a hostile byte in the header or the first entries
        reinterpret_cast<uint8_t*>(&ring)[r.arg % 128] =
            static_cast<uint8_t>(r.value);
        touched = true;
        break;
      }
      case 3: {  // a hostile word: head, tail, size, ele_size or ele_num
        uint32_t* fields[] = {&ring.header.head, &ring.header.tail,
                              &ring.header.size, &ring.header.ele_size,
                              &ring.header.ele_num};
        *fields[r.arg % 5] = r.value;
        touched = true;
        break;
      }
      case 4:  // set up again
        InitPostedRing(ring);
        shadow.clear();
        touched = false;
        break;
    }
  }
  return 0;
}
