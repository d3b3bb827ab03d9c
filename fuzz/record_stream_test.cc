#include "fuzz/record_stream.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace fuzz {
namespace {

// The layouts the targets use, and one with no header at all.
class RecordStreamTest : public ::testing::TestWithParam<RecordStream> {
 protected:
  const RecordStream& s() const { return GetParam(); }
  std::vector<uint8_t> Input(size_t records, uint8_t salt = 0) const {
    std::vector<uint8_t> in(s().header_size + records * s().record_size);
    for (size_t i = 0; i < in.size(); ++i) {
      in[i] = static_cast<uint8_t>(i * 37) ^ salt;
    }
    return in;
  }
  bool SameRecord(const uint8_t* x, const uint8_t* y) const {
    return std::memcmp(x, y, s().record_size) == 0;
  }
};

TEST_P(RecordStreamTest, CountsWholeRecordsUpToTheCap) {
  EXPECT_EQ(s().Count(s().header_size + 2 * s().record_size + 1), 2u);
  EXPECT_EQ(s().Count(s().MaxSize() + 1000 * s().record_size), s().max_records);
  if (s().header_size > 0) {
    EXPECT_EQ(s().Count(s().header_size - 1), 0u);
  }
}

TEST_P(RecordStreamTest, MutationKeepsWholeRecordsAndChangesFew) {
  for (unsigned seed = 0; seed < 500; ++seed) {
    std::vector<uint8_t> in = Input(10);
    const std::vector<uint8_t> before = in;
    in.resize(s().header_size + 12 * s().record_size);
    const size_t size =
        MutateRecords(s(), in.data(), before.size(), in.size(), seed, nullptr);
    ASSERT_EQ((size - s().header_size) % s().record_size, 0u);
    ASSERT_LE(size, in.size());
    // Whatever the mutation, every record of the result is one of the
    // originals, a new one, or an original with one byte changed: count
    // the originals that survive untouched.
    size_t kept = 0;
    for (size_t i = 0; i < s().Count(size); ++i) {
      for (size_t j = 0; j < 10; ++j) {
        if (SameRecord(s().At(in.data(), i), s().At(before.data(), j))) {
          ++kept;
          break;
        }
      }
    }
    EXPECT_GE(kept, 9u) << "seed " << seed;
  }
}

TEST_P(RecordStreamTest, MutationNeverPassesTheCap) {
  std::vector<uint8_t> in = Input(s().max_records);
  in.resize(s().MaxSize() + 4 * s().record_size);
  for (unsigned seed = 0; seed < 200; ++seed) {
    EXPECT_LE(MutateRecords(s(), in.data(), s().MaxSize(), in.size(), seed,
                            nullptr),
              s().MaxSize());
  }
}

TEST_P(RecordStreamTest, MutationGrowsAnEmptyInput) {
  std::vector<uint8_t> in(s().MaxSize(), 0);
  const size_t size = MutateRecords(s(), in.data(), 0, in.size(), 1, nullptr);
  EXPECT_EQ(size, s().header_size + s().record_size);
}

TEST_P(RecordStreamTest, CrossOverSplicesWholeRecords) {
  const std::vector<uint8_t> a = Input(6);
  const std::vector<uint8_t> b = Input(6, 0xff);
  std::vector<uint8_t> out(s().header_size + 20 * s().record_size);
  for (unsigned seed = 0; seed < 100; ++seed) {
    const size_t size = CrossOverRecords(s(), a.data(), a.size(), b.data(),
                                         b.size(), out.data(), out.size(), seed);
    ASSERT_EQ((size - s().header_size) % s().record_size, 0u);
    EXPECT_EQ(std::memcmp(out.data(), a.data(), s().header_size), 0);
    // a's records first, then b's: never a record cut in two.
    size_t i = 0;
    while (i < s().Count(size) && i < 6 &&
           SameRecord(s().At(out.data(), i), s().At(a.data(), i))) {
      ++i;
    }
    for (; i < s().Count(size); ++i) {
      bool from_b = false;
      for (size_t j = 0; j < 6; ++j) {
        from_b |= SameRecord(s().At(out.data(), i), s().At(b.data(), j));
      }
      EXPECT_TRUE(from_b) << "seed " << seed << " record " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, RecordStreamTest,
                         ::testing::Values(RecordStream{2, 8, 256},
                                           RecordStream{1, 16, 64},
                                           RecordStream{0, 8, 16}));

}  // namespace
}  // namespace fuzz
}  // namespace ioreq
