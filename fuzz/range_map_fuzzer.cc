// range_map: add, delete and lookup streams. The interval index
// (core/hsm/range_index.h) must answer every lookup exactly as the kernel's
// linear scan (core/hsm/kernel_range_list.h) does, and agree with it on
// every removal.
//
// Input (a RecordStream, fuzz/record_stream.h): a 1-byte header, then up to
// kMaxRecords fixed 16-byte records, one operation each, so a mutation
// changes one operation and never shifts the later ones.
//
//   header  bit 0: wide (addresses and lengths anywhere in 2^64, so ranges
//           reach the top); else narrow (addresses 0..1024, lengths
//           0..128: overlaps are the rule)
//   record  byte 0  operation, mod 8: 0-1 add, 2 remove, 3 a client goes,
//                   4-7 lookup
//           byte 1  client, 1 + (byte mod 8)
//           byte 2  add: bit 0 type (MMIO or PORTIO), bits 1..6 the wide
//                   length's shift; remove: bit 0 an added range (else one
//                   that may not exist); lookup: type, mod 3 (PCICFG never
//                   matches)
//           byte 3  lookup: access size 1 << (byte mod 4); remove: which
//                   added range
//           4..11   address, u64 little-endian
//           12..15  length, u32 little-endian
//
// The bound keeps the work per input small (the index is checked against
// an O(n) scan per lookup), and the scan is not instrumented under
// --config=fuzz: the time goes to the index, which is what is fuzzed.
#include <cstdint>
#include <vector>

#include "core/abi/abi.h"
#include "core/hsm/kernel_range_list.h"
#include "core/hsm/range_index.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/record_stream.h"

namespace {

using namespace ioreq;

constexpr size_t kMaxRecords = 32;
constexpr fuzz::RecordStream kStream{1, 16, kMaxRecords};

uint64_t Le(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t n = kStream.Count(size);
  if (n == 0) return 0;
  const bool wide = data[0] & 1;
  RangeIndex index;
  KernelRangeList list;
  std::vector<std::pair<uint64_t, IoRange>> added;
  added.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* r = kStream.At(data, i);
    const uint64_t client = 1 + r[1] % 8;
    const uint64_t raw_addr = Le(r + 4, 8);
    const uint64_t raw_len = Le(r + 12, 4);
    const uint64_t addr = wide ? raw_addr : raw_addr % 1025;
    switch (r[0] % 8) {
      case 0:
      case 1: {  // add
        const uint64_t len =
            wide ? raw_len << ((r[2] >> 1) % 33) : raw_len % 129;
        uint64_t end = addr + len;
        if (end < addr) end = ~uint64_t{0};
        const IoRange range{(r[2] & 1) ? kTypeMmio : kTypePortIo, addr, end};
        index.Add(client, range);
        list.Add(client, range);
        added.emplace_back(client, range);
        break;
      }
      case 2: {  // remove an added range, or one that may not exist
        if (!added.empty() && (r[2] & 1)) {
          const size_t at = r[3] % added.size();
          const bool a = index.Remove(added[at].first, added[at].second);
          const bool b = list.Remove(added[at].first, added[at].second);
          FUZZ_CHECK(a && b, "record %zu: an added range could not be removed",
                     i);
          added.erase(added.begin() + at);
        } else {
          const IoRange range{kTypeMmio, addr, addr + 7};
          const bool b = list.Remove(client, range);
          const bool a = index.Remove(client, range);
          FUZZ_CHECK(a == b,
                     "record %zu: remove disagrees on a range that may not "
                     "exist: index %d, scan %d",
                     i, a, b);
          if (b) {
            for (auto it = added.begin(); it != added.end(); ++it) {
              if (it->first == client && it->second == range) {
                added.erase(it);
                break;
              }
            }
          }
        }
        break;
      }
      case 3: {  // a client goes
        index.RemoveClient(client);
        list.RemoveClient(client);
        size_t kept = 0;
        for (const auto& p : added) {
          if (p.first != client) added[kept++] = p;
        }
        added.resize(kept);
        break;
      }
      default: {  // lookup
        const uint32_t type = r[2] % 3;
        const uint64_t access = uint64_t{1} << (r[3] % 4);
        if (addr + (access - 1) < addr) break;  // a wrapping access is never routed
        const auto got = index.Find(type, addr, access);
        const auto want = list.Find(type, addr, access);
        FUZZ_CHECK(got == want,
                   "record %zu: type %u addr 0x%llx size %llu: index says "
                   "%lld, scan says %lld",
                   i, type, (unsigned long long)addr,
                   (unsigned long long)access, got ? (long long)*got : -1LL,
                   want ? (long long)*want : -1LL);
        break;
      }
    }
  }
  return 0;
}

IOREQ_RECORD_STREAM_MUTATORS(kStream)
