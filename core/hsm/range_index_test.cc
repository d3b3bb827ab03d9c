// [find-client] The interval index against the kernel's linear scan.
#include "core/hsm/range_index.h"

#include <algorithm>
#include <random>

#include "core/hsm/kernel_range_list.h"
#include "core/abi/abi.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

TEST(FindClient, WholeAccessMustBeInside) {
  RangeIndex index;
  KernelRangeList list;
  const IoRange uart{kTypePortIo, 0x3F8, 0x3FF};
  index.Add(1, uart);
  list.Add(1, uart);
  for (auto* finder : {static_cast<void*>(&index), static_cast<void*>(&list)}) {
    auto find = [&](uint64_t addr, uint64_t size) {
      return finder == &index ? index.Find(kTypePortIo, addr, size)
                              : list.Find(kTypePortIo, addr, size);
    };
    EXPECT_EQ(find(0x3F8, 1), 1u);
    EXPECT_EQ(find(0x3FC, 4), 1u);   // last byte 0x3FF: inside
    EXPECT_EQ(find(0x3FD, 4), std::nullopt);  // crosses the end
    EXPECT_EQ(find(0x3F7, 2), std::nullopt);  // starts before
  }
  EXPECT_EQ(index.Find(kTypeMmio, 0x3F8, 1), std::nullopt);  // type differs
  EXPECT_EQ(index.Find(kTypePciCfg, 0x3F8, 1), std::nullopt);
}

// in_range() matches a PORTIO or an MMIO request only (its switch has no
// other case): a range of another type, given to either structure, holds
// nothing, not even a request of its own type.
TEST(FindClient, OnlyPortIoAndMmioRequestsMatchARange) {
  RangeIndex index;
  KernelRangeList list;
  const IoRange config{kTypePciCfg, 0x0, 0xFFFF};
  index.Add(1, config);
  list.Add(1, config);
  EXPECT_EQ(index.Find(kTypePciCfg, 0x10, 4), std::nullopt);
  EXPECT_EQ(list.Find(kTypePciCfg, 0x10, 4), std::nullopt);
  EXPECT_EQ(list.Find(kTypeMmio, 0x10, 4), std::nullopt);
}

TEST(FindClient, NewestClientWinsOverlaps) {
  RangeIndex index;
  KernelRangeList list;
  for (auto [client, range] :
       {std::pair<uint64_t, IoRange>{1, {kTypeMmio, 0x1000, 0x1FFF}},
        {2, {kTypeMmio, 0x1800, 0x18FF}},
        {3, {kTypeMmio, 0x0000, 0x0FFF}}}) {
    index.Add(client, range);
    list.Add(client, range);
  }
  EXPECT_EQ(index.Find(kTypeMmio, 0x1800, 4), 2u);
  EXPECT_EQ(list.Find(kTypeMmio, 0x1800, 4), 2u);
  // An access that client 2's range does not hold whole goes to client 1.
  EXPECT_EQ(index.Find(kTypeMmio, 0x18FE, 4), 1u);
  EXPECT_EQ(list.Find(kTypeMmio, 0x18FE, 4), 1u);
  // Across two clients' adjacent ranges: nobody holds it whole.
  EXPECT_EQ(index.Find(kTypeMmio, 0x0FFE, 4), std::nullopt);
  EXPECT_EQ(list.Find(kTypeMmio, 0x0FFE, 4), std::nullopt);
}

TEST(FindClient, OlderClientRangeAddedLaterStillLoses) {
  RangeIndex index;
  KernelRangeList list;
  index.Add(5, {kTypePortIo, 0x100, 0x1FF});
  list.Add(5, {kTypePortIo, 0x100, 0x1FF});
  index.Add(4, {kTypePortIo, 0x100, 0x1FF});
  list.Add(4, {kTypePortIo, 0x100, 0x1FF});
  EXPECT_EQ(index.Find(kTypePortIo, 0x150, 1), 5u);
  EXPECT_EQ(list.Find(kTypePortIo, 0x150, 1), 5u);
}

TEST(FindClient, RangeDelRemovesFirstExactMatchOnly) {
  RangeIndex index;
  KernelRangeList list;
  const IoRange r{kTypeMmio, 0x2000, 0x2FFF};
  for (int i = 0; i < 2; ++i) {
    index.Add(1, r);
    list.Add(1, r);
  }
  EXPECT_FALSE(list.Remove(1, {kTypeMmio, 0x2000, 0x2FFE}));
  EXPECT_FALSE(index.Remove(1, {kTypeMmio, 0x2000, 0x2FFE}));
  EXPECT_TRUE(list.Remove(1, r));
  EXPECT_TRUE(index.Remove(1, r));
  EXPECT_EQ(index.Find(kTypeMmio, 0x2000, 8), 1u);  // the duplicate remains
  EXPECT_TRUE(list.Remove(1, r));
  EXPECT_TRUE(index.Remove(1, r));
  EXPECT_EQ(index.Find(kTypeMmio, 0x2000, 8), std::nullopt);
  EXPECT_EQ(index.segment_count(), 0u);
}

TEST(FindClient, RangeAddRejectsEndBelowStart) {
  EXPECT_FALSE(ValidateRange({kTypeMmio, 10, 9}).ok());
  EXPECT_TRUE(ValidateRange({kTypeMmio, 10, 10}).ok());
  EXPECT_FALSE(ValidateRange({kTypePciCfg, 0, 10}).ok());
}

TEST(FindClient, RangeReachingTheTopOfTheAddressSpace) {
  RangeIndex index;
  index.Add(1, {kTypeMmio, ~0ull - 15, ~0ull});
  index.Add(2, {kTypeMmio, 0, ~0ull});
  EXPECT_EQ(index.Find(kTypeMmio, ~0ull - 7, 8), 2u);
  index.RemoveClient(2);
  EXPECT_EQ(index.Find(kTypeMmio, ~0ull - 7, 8), 1u);
  EXPECT_EQ(index.Find(kTypeMmio, 0, 8), std::nullopt);
}

// An access that wraps past the top of the address space is never inside a
// range, even one that reaches the top. The kernel's scan matches it (its
// last byte wraps to a small number); slot validation refuses such a
// request before either is asked, and the index does not rely on that.
TEST(FindClient, AnAccessThatWrapsFindsNoClient) {
  RangeIndex index;
  KernelRangeList list;
  const IoRange top{kTypeMmio, ~0ull - 15, ~0ull};
  index.Add(1, top);
  list.Add(1, top);
  EXPECT_EQ(index.Find(kTypeMmio, ~0ull - 1, 4), std::nullopt);
  EXPECT_EQ(list.Find(kTypeMmio, ~0ull - 1, 4), 1u);  // the kernel's answer
  EXPECT_EQ(index.Find(kTypeMmio, ~0ull - 3, 4), 1u);
  EXPECT_EQ(index.Find(kTypeMmio, ~0ull - 3, 0), std::nullopt);  // no bytes
}

// Only PORTIO and MMIO ranges exist: removing any other type finds nothing
// and changes nothing.
TEST(FindClient, RemovingARangeOfAnotherTypeFindsNothing) {
  RangeIndex index;
  index.Add(1, {kTypePortIo, 0, 0xFFFF});
  const uint64_t generation = index.generation();
  EXPECT_FALSE(index.Remove(1, {kTypePciCfg, 0, 0xFFFF}));
  EXPECT_FALSE(index.Remove(1, {7, 0, 0xFFFF}));
  EXPECT_EQ(index.generation(), generation);
  EXPECT_EQ(index.Find(kTypePortIo, 0x60, 1), 1u);
}

TEST(FindClient, RandomisedIndexAgreesWithLinearScan) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 30; ++round) {
    RangeIndex index;
    KernelRangeList list;
    std::vector<std::pair<uint64_t, IoRange>> added;
    for (int op = 0; op < 300; ++op) {
      const int kind = rng() % 10;
      if (kind < 5 || added.empty()) {
        const uint64_t client = 1 + rng() % 8;
        const uint64_t start = rng() % 512;
        const IoRange r{static_cast<uint32_t>(rng() % 2), start,
                        start + rng() % 64};
        index.Add(client, r);
        list.Add(client, r);
        added.emplace_back(client, r);
      } else if (kind < 8) {
        const size_t i = rng() % added.size();
        EXPECT_EQ(index.Remove(added[i].first, added[i].second),
                  list.Remove(added[i].first, added[i].second));
        added.erase(added.begin() + i);
      } else {
        const uint64_t client = 1 + rng() % 8;
        index.RemoveClient(client);
        list.RemoveClient(client);
        added.erase(std::remove_if(added.begin(), added.end(),
                                   [&](auto& p) { return p.first == client; }),
                    added.end());
      }
      for (int q = 0; q < 20; ++q) {
        const uint32_t type = rng() % 2;
        const uint64_t addr = rng() % 600;
        const uint64_t size = uint64_t{1} << (rng() % 4);
        ASSERT_EQ(index.Find(type, addr, size), list.Find(type, addr, size))
            << "round " << round << " op " << op << " type " << type
            << " addr " << addr << " size " << size;
      }
    }
  }
}

TEST(RangeIndexGeneration, ChangesWithEveryEditThatCanChangeAnAnswer) {
  RangeIndex index;
  const IoRange r{kTypeMmio, 0x2000, 0x2FFF};
  uint64_t seen = index.generation();
  EXPECT_NE(seen, 0u);
  auto changed = [&] {
    const bool moved = index.generation() != seen;
    seen = index.generation();
    return moved;
  };
  index.Add(1, r);
  EXPECT_TRUE(changed());
  index.Add(1, {kTypeMmio, 0x10, 0x0F});  // end below start: not added
  EXPECT_FALSE(changed());
  EXPECT_FALSE(index.Remove(1, {kTypeMmio, 0x2000, 0x2FFE}));
  EXPECT_FALSE(changed());
  EXPECT_EQ(index.Find(kTypeMmio, 0x2000, 4), 1u);  // a lookup edits nothing
  EXPECT_FALSE(changed());
  EXPECT_TRUE(index.Remove(1, r));
  EXPECT_TRUE(changed());
  index.Add(2, r);
  EXPECT_TRUE(changed());
  index.RemoveClient(2);
  EXPECT_TRUE(changed());
}

}  // namespace
}  // namespace ioreq
