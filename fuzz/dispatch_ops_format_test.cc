#include "fuzz/dispatch_ops_format.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace dispatch_ops {
namespace {

std::vector<uint8_t> Input(size_t records) {
  std::vector<uint8_t> in(kHeaderSize + records * kRecordSize);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 37);
  return in;
}

TEST(DispatchOpsFormat, HeaderNamesVcpusTopologyAndProfile) {
  const uint8_t h[2] = {0x0f, 0x03};
  const Header got = DecodeHeader(h, 2);
  EXPECT_EQ(got.vcpus, 16u);
  EXPECT_EQ(got.topology, Topology::kDirect);
  EXPECT_EQ(got.profile, Profile::kAcrn);
  EXPECT_EQ(DecodeHeader(h, 0).vcpus, 1u);
}

TEST(DispatchOpsFormat, CountsWholeRecordsUpToTheCap) {
  EXPECT_EQ(RecordCount(1), 0u);
  EXPECT_EQ(RecordCount(kHeaderSize + 2 * kRecordSize + 7), 2u);
  EXPECT_EQ(RecordCount(kHeaderSize + 1000 * kRecordSize), kMaxRecords);
}

TEST(DispatchOpsFormat, EveryOpcodeDecodes) {
  uint8_t r[kRecordSize] = {};
  const OpKind want[] = {
      OpKind::kInsert, OpKind::kInsert, OpKind::kGarbage, OpKind::kDispatch,
      OpKind::kDispatch, OpKind::kServeClient, OpKind::kServeDefault,
      OpKind::kNotifyFinish, OpKind::kAddRange, OpKind::kDelRange,
      OpKind::kCreateClient, OpKind::kDestroyClient, OpKind::kClear,
      OpKind::kPause, OpKind::kTake, OpKind::kReset};
  for (uint8_t op = 0; op < 16; ++op) {
    r[0] = op;
    EXPECT_EQ(DecodeRecord(r).kind, want[op]) << int(op);
  }
  r[0] = 13;
  r[1] = 1;
  EXPECT_EQ(DecodeRecord(r).kind, OpKind::kResume);
}

TEST(DispatchOpsFormat, RecordsDecodeTheAccessesTheyName) {
  const uint8_t cf8[kRecordSize] = {0, 0, 3, 0x10, 0x18, 0x00, 0x80, 0};
  const Op op = DecodeRecord(cf8);
  EXPECT_EQ(op.access.address, 0xCF8u);
  EXPECT_EQ(op.access.direction, kDirWrite);
  EXPECT_EQ(op.access.value, 0x80001810u);
  const uint8_t finish[kRecordSize] = {7, 0x80, 0, 0, 1, 0, 0, 0};
  EXPECT_EQ(DecodeRecord(finish).vcpu, 65536u);  // names vCPU 0 as a u16
}

TEST(DispatchOpsFormat, MutationKeepsWholeRecordsAndChangesFew) {
  for (unsigned seed = 0; seed < 500; ++seed) {
    std::vector<uint8_t> in = Input(10);
    const std::vector<uint8_t> before = in;
    in.resize(kHeaderSize + 40 * kRecordSize);
    const size_t size =
        MutateRecords(in.data(), before.size(), in.size(), seed, nullptr);
    ASSERT_EQ((size - kHeaderSize) % kRecordSize, 0u);
    ASSERT_LE(size, in.size());
    // Whatever the mutation, every record of the result is one of the
    // originals, a new one, or an original with one byte changed: count
    // the originals that survive untouched.
    size_t kept = 0;
    for (size_t i = 0; i < RecordCount(size); ++i) {
      for (size_t j = 0; j < 10; ++j) {
        if (std::memcmp(RecordAt(in.data(), i), RecordAt(before.data(), j),
                        kRecordSize) == 0) {
          ++kept;
          break;
        }
      }
    }
    EXPECT_GE(kept, 9u) << "seed " << seed;
  }
}

TEST(DispatchOpsFormat, MutationGrowsAnEmptyInput) {
  std::vector<uint8_t> in(64, 0);
  const size_t size = MutateRecords(in.data(), 0, in.size(), 1, nullptr);
  EXPECT_EQ(size, kHeaderSize + kRecordSize);
}

TEST(DispatchOpsFormat, CrossOverSplicesWholeRecords) {
  const std::vector<uint8_t> a = Input(6);
  std::vector<uint8_t> b = Input(6);
  for (uint8_t& byte : b) byte ^= 0xff;
  std::vector<uint8_t> out(kHeaderSize + 20 * kRecordSize);
  for (unsigned seed = 0; seed < 100; ++seed) {
    const size_t size = CrossOverRecords(a.data(), a.size(), b.data(), b.size(),
                                         out.data(), out.size(), seed);
    ASSERT_EQ((size - kHeaderSize) % kRecordSize, 0u);
    EXPECT_EQ(std::memcmp(out.data(), a.data(), kHeaderSize), 0);
    // a's records first, then b's: never a record cut in two.
    size_t i = 0;
    while (i < RecordCount(size) && i < 6 &&
           std::memcmp(RecordAt(out.data(), i), RecordAt(a.data(), i),
                       kRecordSize) == 0) {
      ++i;
    }
    for (; i < RecordCount(size); ++i) {
      bool from_b = false;
      for (size_t j = 0; j < 6; ++j) {
        from_b |= std::memcmp(RecordAt(out.data(), i), RecordAt(b.data(), j),
                              kRecordSize) == 0;
      }
      EXPECT_TRUE(from_b) << "seed " << seed << " record " << i;
    }
  }
}

}  // namespace
}  // namespace dispatch_ops
}  // namespace ioreq
