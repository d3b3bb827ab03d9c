// range_map: add, delete and lookup streams. The interval index must answer
// every lookup exactly as the kernel-style linear scan does.
#include <fuzzer/FuzzedDataProvider.h>

#include <vector>

#include "core/abi/abi.h"
#include "core/hsm/range_index.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ioreq;
  FuzzedDataProvider in(data, size);
  RangeIndex index;
  KernelRangeList list;
  std::vector<std::pair<uint64_t, IoRange>> added;
  // Small address spaces make overlaps likely; some ranges reach the top.
  const bool wide = in.ConsumeBool();
  auto addr = [&] {
    return wide ? in.ConsumeIntegral<uint64_t>()
                : in.ConsumeIntegralInRange<uint64_t>(0, 1024);
  };
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {  // add
        const uint64_t client = in.ConsumeIntegralInRange<uint64_t>(1, 8);
        const uint64_t start = addr();
        const uint64_t len = wide ? in.ConsumeIntegral<uint64_t>()
                                  : in.ConsumeIntegralInRange<uint64_t>(0, 128);
        uint64_t end = start + len;
        if (end < start) end = ~uint64_t{0};
        const IoRange r{in.ConsumeBool() ? kTypeMmio : kTypePortIo, start, end};
        index.Add(client, r);
        list.Add(client, r);
        added.emplace_back(client, r);
        break;
      }
      case 1: {  // delete an existing range, or a random one
        if (!added.empty() && in.ConsumeBool()) {
          const size_t i = in.ConsumeIntegralInRange<size_t>(0, added.size() - 1);
          const bool a = index.Remove(added[i].first, added[i].second);
          const bool b = list.Remove(added[i].first, added[i].second);
          FUZZ_CHECK(a && b, "an added range could not be removed");
          added.erase(added.begin() + i);
        } else {
          const uint64_t client = in.ConsumeIntegralInRange<uint64_t>(1, 8);
          const uint64_t start = addr();
          const IoRange r{kTypeMmio, start, start + 7};
          const bool b = list.Remove(client, r);
          const bool a = index.Remove(client, r);
          FUZZ_CHECK(a == b, "remove disagrees on a range that may not exist");
          if (b) {
            for (auto it = added.begin(); it != added.end(); ++it) {
              if (it->first == client && it->second == r) {
                added.erase(it);
                break;
              }
            }
          }
        }
        break;
      }
      case 2: {  // a client goes
        const uint64_t client = in.ConsumeIntegralInRange<uint64_t>(1, 8);
        index.RemoveClient(client);
        list.RemoveClient(client);
        std::vector<std::pair<uint64_t, IoRange>> kept;
        for (auto& p : added) if (p.first != client) kept.push_back(p);
        added.swap(kept);
        break;
      }
      default: {  // lookups
        const uint32_t type = in.ConsumeIntegralInRange<uint32_t>(0, 2);
        const uint64_t a = addr();
        const uint64_t sz = uint64_t{1} << in.ConsumeIntegralInRange<int>(0, 3);
        if (a + (sz - 1) < a) break;  // a wrapping access is never routed
        const auto got = index.Find(type, a, sz);
        const auto want = list.Find(type, a, sz);
        FUZZ_CHECK(got == want,
                   "type %u addr 0x%llx size %llu: index says %lld, scan says %lld",
                   type, (unsigned long long)a, (unsigned long long)sz,
                   got ? (long long)*got : -1LL, want ? (long long)*want : -1LL);
        break;
      }
    }
  }
  return 0;
}
