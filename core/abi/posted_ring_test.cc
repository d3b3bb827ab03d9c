#include "core/abi/posted_ring.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace {

std::vector<uint64_t> Drain(PostedRing& ring, bool* corrupt = nullptr) {
  std::vector<uint64_t> got;
  DrainResult r = DrainPosted(ring, [&](uint64_t c) { got.push_back(c); });
  if (corrupt != nullptr) *corrupt = r.corrupt;
  EXPECT_EQ(r.drained, got.size());
  return got;
}

TEST(PostedRingTest, LayoutIsSbufs) {
  EXPECT_EQ(sizeof(PostedRing), 4096u);
  EXPECT_EQ(offsetof(PostedRingHeader, head), 16u);
  EXPECT_EQ(offsetof(PostedRingHeader, tail), 20u);
  EXPECT_EQ(offsetof(PostedRingHeader, overrun_cnt), 32u);
  EXPECT_EQ(offsetof(PostedRingHeader, size), 36u);
  EXPECT_EQ(kPostedEntries, 504u);
}

TEST(PostedRingTest, FifoOrderAcrossTheWrap) {
  PostedRing ring;
  InitPostedRing(ring);
  uint64_t next = 1;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 300; ++i) ASSERT_EQ(PutPosted(ring, next + i), PutResult::kPut);
    std::vector<uint64_t> got = Drain(ring);
    ASSERT_EQ(got.size(), 300u);
    for (int i = 0; i < 300; ++i) EXPECT_EQ(got[i], next + i);
    next += 300;
  }
  EXPECT_TRUE(Drain(ring).empty());
}

TEST(PostedRingTest, FullHoldsOneLessThanItsEntries) {
  PostedRing ring;
  InitPostedRing(ring);
  for (uint32_t i = 0; i + 1 < kPostedEntries; ++i) {
    ASSERT_EQ(PutPosted(ring, i), PutResult::kPut) << i;
  }
  EXPECT_EQ(PutPosted(ring, 999), PutResult::kFull);
  EXPECT_EQ(Drain(ring).size(), kPostedEntries - 1);
  EXPECT_EQ(PutPosted(ring, 999), PutResult::kPut);
}

// A hostile writer's indices and geometry are checked before use: nothing
// is read or written outside the entries.
TEST(PostedRingTest, CorruptHeaderIsRefusedBothWays) {
  struct Case {
    const char* what;
    void (*corrupt)(PostedRing&);
  };
  const Case cases[] = {
      {"tail past the end", [](PostedRing& r) { r.header.tail = 4096; }},
      // The first offset past the last entry: aligned, and one entry too far.
      {"tail at the end",
       [](PostedRing& r) { r.header.tail = kPostedEntries * kPostedEntrySize; }},
      {"head at the end",
       [](PostedRing& r) { r.header.head = kPostedEntries * kPostedEntrySize; }},
      {"misaligned head", [](PostedRing& r) { r.header.head = 3; }},
      {"wrapped head", [](PostedRing& r) { r.header.head = 0xFFFFFFF8u; }},
      {"entry size", [](PostedRing& r) { r.header.ele_size = 16; }},
      {"size", [](PostedRing& r) { r.header.size = 1u << 20; }},
      {"magic", [](PostedRing& r) { r.header.magic = 0; }},
  };
  for (const Case& c : cases) {
    PostedRing ring;
    InitPostedRing(ring);
    ASSERT_EQ(PutPosted(ring, 1), PutResult::kPut);
    c.corrupt(ring);
    EXPECT_FALSE(PostedRingSane(ring)) << c.what;
    bool corrupt = false;
    EXPECT_TRUE(Drain(ring, &corrupt).empty()) << c.what;
    EXPECT_TRUE(corrupt) << c.what;
    EXPECT_EQ(PutPosted(ring, 2), PutResult::kCorrupt) << c.what;
  }
}

// One producer, one consumer: every cookie once, in order (run under TSan).
TEST(PostedRingTest, ProducerAndConsumerThreads) {
  PostedRing ring;
  InitPostedRing(ring);
  constexpr uint64_t kCount = 200000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint64_t i = 1; i <= kCount;) {
      if (PutPosted(ring, i) == PutResult::kPut) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
    done.store(true, std::memory_order_release);
  });
  uint64_t expect = 1;
  bool in_order = true;
  for (;;) {
    const bool finished = done.load(std::memory_order_acquire);
    DrainPosted(ring, [&](uint64_t c) { in_order &= c == expect++; });
    if (finished && expect == kCount + 1) break;
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expect, kCount + 1);
}

}  // namespace
}  // namespace ioreq
