// [abi] The slot and page layout, checked at run time too: bytes written
// through the model's types read back the same through <linux/acrn.h>.
#include "core/abi/abi.h"

#include <linux/acrn.h>

#include <cstring>

#include "core/abi/slot_state.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

TEST(Abi, SlotIs256BytesAndPageHolds16) {
  EXPECT_EQ(sizeof(IoRequest), 256u);
  EXPECT_EQ(alignof(IoRequest), 256u);
  EXPECT_EQ(sizeof(SharedPage), 4096u);
  EXPECT_EQ(sizeof(PageFrame), 4096u);
  EXPECT_EQ(alignof(PageFrame), 4096u);
  PageFrame frame;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&frame) % 4096, 0u);
  EXPECT_EQ(reinterpret_cast<char*>(&frame.buffer.slots[5]) -
                reinterpret_cast<char*>(&frame),
            5 * 256);
}

TEST(Abi, FieldsReadBackThroughTheKernelHeader) {
  IoRequest ours;
  std::memset(static_cast<void*>(&ours), 0, sizeof(ours));
  ours.type = kTypeMmio;
  ours.completion_polling = 1;
  ours.reqs.mmio_request.direction = kDirWrite;
  ours.reqs.mmio_request.address = 0xFEDC0000ull;
  ours.reqs.mmio_request.size = 8;
  ours.reqs.mmio_request.value = 0x1122334455667788ull;
  ours.kernel_handled = 1;
  StoreStateRelease(ours, kStateProcessing);

  struct acrn_io_request theirs;
  std::memcpy(&theirs, &ours, sizeof(theirs));
  EXPECT_EQ(theirs.type, ACRN_IOREQ_TYPE_MMIO);
  EXPECT_EQ(theirs.completion_polling, 1u);
  EXPECT_EQ(theirs.reqs.mmio_request.direction, ACRN_IOREQ_DIR_WRITE);
  EXPECT_EQ(theirs.reqs.mmio_request.address, 0xFEDC0000ull);
  EXPECT_EQ(theirs.reqs.mmio_request.size, 8u);
  EXPECT_EQ(theirs.reqs.mmio_request.value, 0x1122334455667788ull);
  EXPECT_EQ(theirs.kernel_handled, 1u);
  EXPECT_EQ(theirs.processed, ACRN_IOREQ_STATE_PROCESSING);
}

TEST(Abi, PciRequestSharesPioHeader) {
  IoRequest req;
  std::memset(static_cast<void*>(&req), 0, sizeof(req));
  req.reqs.pio_request.direction = kDirRead;
  req.reqs.pio_request.size = 2;
  req.reqs.pio_request.value = 0xBEEF;
  EXPECT_EQ(req.reqs.pci_request.direction, kDirRead);
  EXPECT_EQ(req.reqs.pci_request.size, 2u);
  EXPECT_EQ(req.reqs.pci_request.value, 0xBEEFu);
}

TEST(Abi, StateValuesAreNotLifecycleOrder) {
  EXPECT_EQ(kStatePending, 0u);
  EXPECT_EQ(kStateComplete, 1u);
  EXPECT_EQ(kStateProcessing, 2u);
  EXPECT_EQ(kStateFree, 3u);
  EXPECT_STREQ(StateName(kStateFree), "FREE");
  EXPECT_STREQ(StateName(kStatePending), "PENDING");
  EXPECT_STREQ(StateName(kStateProcessing), "PROCESSING");
  EXPECT_STREQ(StateName(kStateComplete), "COMPLETE");
  EXPECT_STREQ(StateName(4), "INVALID");
}

}  // namespace
}  // namespace ioreq
