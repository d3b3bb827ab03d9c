#include "fuzz/dispatch_ops_format.h"

#include "gtest/gtest.h"

namespace ioreq {
namespace dispatch_ops {
namespace {

TEST(DispatchOpsFormat, HeaderNamesVcpusTopologyProfileAndRouting) {
  const uint8_t h[2] = {0x0f, 0x03};
  const Header got = DecodeHeader(h, 2);
  EXPECT_EQ(got.vcpus, 16u);
  EXPECT_EQ(got.topology, Topology::kDirect);
  EXPECT_EQ(got.profile, Profile::kAcrn);
  EXPECT_TRUE(got.check_range_index);  // bit 2 clear: every route checked
  EXPECT_EQ(DecodeHeader(h, 0).vcpus, 1u);
  const uint8_t production[2] = {0x00, 0x05};
  const Header p = DecodeHeader(production, 2);
  EXPECT_FALSE(p.check_range_index);
  EXPECT_EQ(p.topology, Topology::kDirect);
  EXPECT_EQ(p.profile, Profile::kHardened);
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

}  // namespace
}  // namespace dispatch_ops
}  // namespace ioreq
