// The watchdog's line of slot states: each of the VM's vCPUs' slots and no
// other, and who holds a request being processed.
#include "bench/internal/slot_states.h"

#include "core/abi/slot_decode.h"
#include "core/harness/manual_rig.h"
#include "gtest/gtest.h"

namespace bench {
namespace stress_internal {
namespace {

using ioreq::testing::ManualRig;

TEST(SlotStates, EachVcpuOfTheVmInOrderWithTheHolderOfAProcessingRequest) {
  ManualRig rig(/*vcpus=*/3);
  const ioreq::ClientId bar1 = rig.AddConstantClient("bar1", 7);
  ASSERT_TRUE(rig.hsm.AddRange(bar1, ioreq::kTypePortIo, 0x60, 0x60).ok());
  const ioreq::SharedPage* page = rig.hv.shared_page(rig.vm);
  EXPECT_EQ(SlotStates(rig.hsm, page, rig.vm, 3), "0 FREE, 1 FREE, 2 FREE");

  ASSERT_TRUE(
      rig.hv.InsertRequest(rig.vm, 1, ioreq::PortRead(0x60, 1), false).ok());
  EXPECT_EQ(SlotStates(rig.hsm, page, rig.vm, 3),
            "0 FREE, 1 PENDING, 2 FREE");
  rig.hsm.Dispatch();
  EXPECT_EQ(SlotStates(rig.hsm, page, rig.vm, 3),
            "0 FREE, 1 PROCESSING (held by bar1), 2 FREE");
  ASSERT_TRUE(rig.hsm.ServeClient(bar1).ok());
  EXPECT_EQ(SlotStates(rig.hsm, page, rig.vm, 3),
            "0 FREE, 1 COMPLETE, 2 FREE");
  // Fewer vCPUs than the VM has: only theirs.
  EXPECT_EQ(SlotStates(rig.hsm, page, rig.vm, 2), "0 FREE, 1 COMPLETE");
}

// A hypervisor that rewrote a held request's state back to PENDING: the
// line shows what the page says, and names no holder for a slot that is
// not being processed.
TEST(SlotStates, NoHolderIsNamedForASlotNotBeingProcessed) {
  ManualRig rig(/*vcpus=*/1);
  const ioreq::ClientId bar1 = rig.AddConstantClient("bar1", 7);
  ASSERT_TRUE(rig.hsm.AddRange(bar1, ioreq::kTypePortIo, 0x60, 0x60).ok());
  ASSERT_TRUE(
      rig.hv.InsertRequest(rig.vm, 0, ioreq::PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(rig.hsm.HolderOf(rig.vm, 0).value(), "bar1");
  ioreq::StoreStateRelease(rig.Slot(0), ioreq::kStatePending);
  EXPECT_EQ(SlotStates(rig.hsm, rig.hv.shared_page(rig.vm), rig.vm, 1),
            "0 PENDING");
}

}  // namespace
}  // namespace stress_internal
}  // namespace bench
