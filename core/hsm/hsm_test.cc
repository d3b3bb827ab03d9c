// The HSM's rules (docs/spec.md sections 2 to 9), one test each or more,
// driven by hand (core/harness/manual_rig.h) so every intermediate state can
// be checked, and every one run on both topologies. One file of about 1,000
// lines on purpose: the rules and their proofs read in the order the spec
// states them, and a test suite named after each rule ([dispatch] is
// Dispatch.*) finds them all here.
#include "core/hsm/hsm.h"

#include <sched.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "core/hsm/cf8cfc.h"
#include "core/hsm/hsm_test_peer.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/harness/device_model.h"
#include "core/harness/manual_rig.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

using testing::ManualRig;

constexpr absl::Duration kShort = absl::Milliseconds(200);

// Every rule is proved on both topologies: the kernel's dispatcher and
// direct claiming. Where the two differ by design the test says so.
class TopologyTest : public ::testing::TestWithParam<Topology> {
 protected:
  bool direct() const { return GetParam() == Topology::kDirect; }
  // Driven by hand (core/harness/manual_rig.h).
  HsmOptions Options() const { return testing::ManualOptions(GetParam()); }
  // With the HSM's own threads.
  HsmOptions Threaded() const {
    HsmOptions options;
    options.topology = GetParam();
    return options;
  }
};

using Lifecycle = TopologyTest;
using HvInsert = TopologyTest;
using HvReset = TopologyTest;
using Buffer = TopologyTest;
using Dispatch = TopologyTest;
using Complete = TopologyTest;
using Clients = TopologyTest;
using FindClient = TopologyTest;
using Cf8Cfc = TopologyTest;
using ClientWait = TopologyTest;
using NotifyFinish = TopologyTest;
using Clear = TopologyTest;
using Pause = TopologyTest;
using Destroy = TopologyTest;
using Hazard = TopologyTest;
using Placed = TopologyTest;
using ServicePoll = TopologyTest;

// ---------------------------------------------------------------- [lifecycle]

TEST_P(Lifecycle, FreePendingProcessingCompleteFree) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  EXPECT_EQ(rig.State(1), kStateFree);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x3FD, 1), false).ok());
  EXPECT_EQ(rig.State(1), kStatePending);
  EXPECT_EQ(*rig.hsm.HolderOf(rig.vm, 1), "");
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(1), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(uart), 1u << 1);
  EXPECT_EQ(*rig.hsm.HolderOf(rig.vm, 1), "uart");
  EXPECT_EQ(rig.hsm.HolderOf(rig.vm, 16).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(rig.hsm.ServeClient(uart).ok());
  EXPECT_EQ(rig.State(1), kStateComplete);
  EXPECT_EQ(*rig.hsm.PendingBitmap(uart), 0u);
  EXPECT_EQ(*rig.hsm.HolderOf(rig.vm, 1), "");
  absl::StatusOr<uint64_t> value = rig.hv.WaitForCompletion(rig.vm, 1, kShort);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 0x60u);
  EXPECT_EQ(rig.State(1), kStateFree);
}

TEST_P(Lifecycle, ReadValueIsMaskedToTheAccessSize) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId c = rig.AddConstantClient("wide", 0xAABBCCDD);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x100, 0x1FF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x100, 2), false).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0xCCDDu);
}

// ---------------------------------------------------------------- [hv-insert]

TEST_P(HvInsert, OnlyIntoAFreeSlot) {
  ManualRig rig(/*vcpus=*/4, Options());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  // Nobody serves it: the vCPU gives it up, and the slot stays PENDING.
  ASSERT_TRUE(rig.hv.AbandonRequest(rig.vm, 0).ok());
  absl::Status second = rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false);
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(second.message(), "PENDING, not FREE"))
      << second.message();
  EXPECT_EQ(rig.hv.stats().insert_refused, 1u);
}

TEST_P(HvInsert, FillsTypeUnionAndPollingFlag) {
  ManualRig rig(/*vcpus=*/4, Options());
  ASSERT_TRUE(
      rig.hv.InsertRequest(rig.vm, 2, MmioWrite(0xF0000008, 4, 0x1234), true)
          .ok());
  const IoRequest& s = rig.Slot(2);
  EXPECT_EQ(s.type, kTypeMmio);
  EXPECT_EQ(s.completion_polling, 1u);
  EXPECT_EQ(s.reqs.mmio_request.address, 0xF0000008u);
  EXPECT_EQ(s.reqs.mmio_request.size, 4u);
  EXPECT_EQ(s.reqs.mmio_request.value, 0x1234u);
  EXPECT_EQ(s.reqs.mmio_request.direction, kDirWrite);
}

TEST_P(HvInsert, RejectsVcpuOutOfRange) {
  ManualRig rig(/*vcpus=*/2, Options());
  EXPECT_EQ(rig.hv.InsertRequest(rig.vm, 2, PortRead(0x60, 1), false).code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- [hv-reset]

TEST_P(HvReset, ResetMakesAllSixteenSlotsFree) {
  ManualRig rig(/*vcpus=*/4, Options());
  // No client at all: requests stay PENDING until the reset's clear.
  for (uint32_t v = 0; v < 4; ++v) {
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, v, PortRead(0x60, 1), true).ok());
  }
  std::vector<std::thread> vcpus;
  std::atomic<int> answered{0};
  for (uint32_t v = 0; v < 4; ++v) {
    vcpus.emplace_back([&, v] {
      if (rig.hv.WaitForCompletion(rig.vm, v, absl::Seconds(5)).ok()) ++answered;
    });
  }
  ASSERT_TRUE(rig.hsm.ResetVm(rig.vm).ok());
  for (auto& t : vcpus) t.join();
  EXPECT_EQ(answered.load(), 4);
  for (uint32_t v = 0; v < 16; ++v) EXPECT_EQ(rig.State(v), kStateFree) << v;
  EXPECT_EQ(rig.hsm.stats().completed_while_clearing, 4u);
}

TEST_P(HvReset, ResetRequiresAPausedVm) {
  ManualRig rig(/*vcpus=*/4, Options());
  EXPECT_EQ(rig.hv.ResetVm(rig.vm).code(), absl::StatusCode::kFailedPrecondition);
}

// ------------------------------------------------------------------ [buffer]

// acrn_ioreq_init() returns -EEXIST when the VM has a buffer: the request a
// client holds in the first page is still completed through it.
TEST_P(Buffer, ASecondBufferIsRefusedAndTheFirstStaysInUse) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId c = rig.AddConstantClient("c", 0x5A);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x60, 0x60).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(rig.State(0), kStateProcessing);

  PageFrame other{};
  const absl::Status second = rig.hsm.SetIoreqBuffer(rig.vm, &other.buffer);
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists) << second;
  // The refused page is left as it was: not marked.
  for (const IoRequest& slot : other.buffer.slots) {
    EXPECT_EQ(slot.kernel_handled, 0u);
  }

  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x5Au);
  // New requests still go through the first page.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(1), kStateProcessing);
}

// Two callers racing to give the same VM a page: exactly one wins, and the
// page in use is the winner's.
TEST_P(Buffer, OfTwoRacingCallersExactlyOneGivesThePage) {
  for (int round = 0; round < 50; ++round) {
    EmulatedHypervisor hv;
    Hsm hsm(&hv, Options());
    const uint16_t vm = *hv.CreateVm(1);
    ASSERT_TRUE(hsm.CreateVm(vm, 1).ok());
    PageFrame pages[2]{};
    std::atomic<bool> go{false};
    absl::Status results[2];
    std::vector<std::thread> callers;
    for (int i = 0; i < 2; ++i) {
      callers.emplace_back([&, i] {
        while (!go.load(std::memory_order_acquire)) {
        }
        results[i] = hsm.SetIoreqBuffer(vm, &pages[i].buffer);
      });
    }
    go.store(true, std::memory_order_release);
    for (auto& t : callers) t.join();
    ASSERT_NE(results[0].ok(), results[1].ok()) << results[0] << results[1];
    const absl::Status& lost = results[0].ok() ? results[1] : results[0];
    EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists);
  }
}

// ---------------------------------------------------------------- [dispatch]

TEST_P(Dispatch, SkipsEverySlotThatIsNotPending) {
  ManualRig rig(/*vcpus=*/4, Options());
  int calls = 0;
  const ClientId c = rig.AddConstantClient("c", 1, &calls);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  StoreStateRelease(rig.Slot(0), kStateProcessing);
  StoreStateRelease(rig.Slot(1), kStateComplete);
  // Slot 2 FREE; slot 3 PENDING.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 3, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(rig.State(1), kStateComplete);
  EXPECT_EQ(rig.State(2), kStateFree);
  EXPECT_EQ(rig.State(3), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 1u << 3);
  EXPECT_EQ(rig.hsm.stats().dispatched, 1u);
}

// [find-client] A request no client takes stays PENDING (the kernel gives
// up on the VM's other slots; the model goes on, and the kernel topology
// counts it), and the default client created later gets it. (The direct
// topology routes before it claims, so it leaves such a slot alone.)
TEST_P(Dispatch, ARequestNoClientTakesStaysPendingForALaterClient) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId c = rig.AddConstantClient("c", 1);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x60, 0x60).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x70, 1), true).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_EQ(rig.State(1), kStateComplete);
  if (!direct()) {
    EXPECT_GE(rig.hsm.stats().no_client, 1u);
  }
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);

  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
}

// [dispatch] The page has 16 slots, the VM vcpu_num vCPUs: a slot beyond them
// written PENDING by hand (the first past the last vCPU, and the page's
// last) is never looked at, by the dispatcher's scan or a client's claim.
TEST_P(Dispatch, ScansOnlyTheVmsVcpus) {
  ManualRig rig(/*vcpus=*/2, Options());
  int calls = 0;
  const ClientId c = rig.AddConstantClient("c", 1, &calls);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  for (uint32_t slot : {2u, 15u}) {
    EncodeAccess(PortRead(0x60, 1), rig.Slot(slot));
    StoreStateRelease(rig.Slot(slot), kStatePending);
  }
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(rig.State(2), kStatePending);
  EXPECT_EQ(rig.State(15), kStatePending);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);
  EXPECT_EQ(rig.hsm.stats().dispatched, 0u);
  EXPECT_EQ(calls, 0);
}

// [kernel-handled] The page the HSM is given: the kernel topology leaves
// every field as the hypervisor wrote it; the direct topology marks every
// slot the kernel's (its lock-free claims rely on it) but one already
// PROCESSING, whose mark says whose request it is.
TEST_P(Dispatch, AFirstPageIsMarkedTheKernelsButNoProcessingSlot) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  const uint16_t vm = *hv.CreateVm(4);
  ASSERT_TRUE(hsm.CreateVm(vm, 4).ok());
  SharedPage* page = hv.shared_page(vm);
  for (IoRequest& slot : page->slots) slot.kernel_handled = 0;
  StoreStateRelease(page->slots[2], kStateProcessing);
  ASSERT_TRUE(hsm.SetIoreqBuffer(vm, page).ok());
  for (uint32_t v = 0; v < kIoRequestMax; ++v) {
    EXPECT_EQ(page->slots[v].kernel_handled, direct() && v != 2 ? 1u : 0u) << v;
  }
  StoreStateRelease(page->slots[2], kStateFree);
}

TEST_P(Dispatch, SetsKernelHandledForInProcessClientsOnly) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId c = rig.AddConstantClient("c", 1);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.Slot(0).kernel_handled, 1u);
  EXPECT_EQ(rig.Slot(1).kernel_handled, 0u);
}

TEST_P(Dispatch, InvalidRequestIsAnsweredAllOnesNotRouted) {
  ManualRig rig(/*vcpus=*/4, Options());
  int calls = 0;
  const ClientId c = rig.AddConstantClient("c", 1, &calls);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypeMmio, 0, ~0ull).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioRead(0x1000, 4), true).ok());
  rig.Slot(0).reqs.mmio_request.size = 3;  // a hostile hypervisor
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(rig.Slot(0).reqs.mmio_request.value, ~0ull);
  EXPECT_EQ(rig.hsm.stats().rejected_invalid, 1u);
  EXPECT_EQ(calls, 0);
}

// ---------------------------------------------------------------- [complete]

TEST_P(Complete, NotifiesTheHypervisorUnlessPolling) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId c = rig.AddConstantClient("c", 7);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(rig.hv.stats().notifications, 1u);  // vCPU 1 only
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 7u);
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 1, kShort), 7u);
}

// A hypervisor double that records notifications. (That completion_polling
// is read before COMPLETE is published is also proved under ThreadSanitizer
// by the stress test: a read after it would race with the vCPU's next
// insert, which rewrites the flag.)
class ReusingHypervisor : public HypervisorCalls {
 public:
  absl::Status NotifyRequestFinish(uint16_t, uint32_t vcpu) override {
    notified.push_back(vcpu);
    return refuse_notifications ? absl::InternalError("refused")
                                : absl::OkStatus();
  }
  absl::Status PauseVm(uint16_t) override { return absl::OkStatus(); }
  absl::Status ResetVm(uint16_t) override { return absl::OkStatus(); }
  absl::Status ResumeVm(uint16_t) override { return absl::OkStatus(); }
  std::vector<uint32_t> notified;
  bool refuse_notifications = false;
};

// A notification the hypervisor refuses is counted; the request is
// COMPLETE all the same (the vCPU's rescan finds it), and a notification
// that goes through is not counted.
TEST_P(Complete, ARefusedNotificationIsCountedAsAHypercallError) {
  ReusingHypervisor hv;
  hv.refuse_notifications = true;
  Hsm hsm(&hv, Options());
  PageFrame frame{};
  for (IoRequest& s : frame.buffer.slots) StoreStateRelease(s, kStateFree);
  ASSERT_TRUE(hsm.CreateVm(0, 2).ok());
  ASSERT_TRUE(hsm.SetIoreqBuffer(0, &frame.buffer).ok());
  const ClientId c = *hsm.CreateClient(
      0, "c", [](IoAccess&) { return absl::OkStatus(); }, false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  EncodeAccess(PortRead(0x60, 1), frame.buffer.slots[0]);
  StoreStateRelease(frame.buffer.slots[0], kStatePending);
  hsm.Dispatch();
  ASSERT_TRUE(hsm.ServeClient(c).ok());
  EXPECT_EQ(LoadStateAcquire(frame.buffer.slots[0]), kStateComplete);
  EXPECT_EQ(hsm.stats().hypercall_errors, 1u);

  hv.refuse_notifications = false;
  EncodeAccess(PortRead(0x60, 1), frame.buffer.slots[1]);
  StoreStateRelease(frame.buffer.slots[1], kStatePending);
  hsm.Dispatch();
  ASSERT_TRUE(hsm.ServeClient(c).ok());
  EXPECT_EQ(LoadStateAcquire(frame.buffer.slots[1]), kStateComplete);
  EXPECT_EQ(hsm.stats().hypercall_errors, 1u);
  EXPECT_EQ(hv.notified.size(), 2u);
}

TEST_P(Complete, NotifiesAccordingToTheFlagInTheSlotAtCompletion) {
  ReusingHypervisor hv;
  Hsm hsm(&hv, Options());
  PageFrame frame{};
  for (IoRequest& s : frame.buffer.slots) StoreStateRelease(s, kStateFree);
  ASSERT_TRUE(hsm.CreateVm(0, 1).ok());
  ASSERT_TRUE(hsm.SetIoreqBuffer(0, &frame.buffer).ok());
  IoRequest& slot = frame.buffer.slots[0];
  // The flag is read from the slot when the request completes: the
  // hypervisor turns it to 0 while the handler runs (on its copy), so a
  // notification must follow.
  const ClientId c = *hsm.CreateClient(
      0, "c",
      [&](IoAccess&) {
        slot.completion_polling = 0;
        return absl::OkStatus();
      },
      false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  EncodeAccess(PortRead(0x60, 1), slot);
  slot.completion_polling = 1;
  StoreStateRelease(slot, kStatePending);
  hsm.Dispatch();
  ASSERT_TRUE(hsm.ServeClient(c).ok());
  EXPECT_EQ(LoadStateAcquire(slot), kStateComplete);
  ASSERT_EQ(hv.notified.size(), 1u);
  EXPECT_EQ(hv.notified[0], 0u);
}

// ---------------------------------------------------------------- [clients]

TEST_P(Clients, AtMostOneDefaultClient) {
  ManualRig rig(/*vcpus=*/4, Options());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  EXPECT_EQ(rig.hsm.CreateClient(rig.vm, "dm2", nullptr, true).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(Clients, NonDefaultClientNeedsAHandler) {
  ManualRig rig(/*vcpus=*/4, Options());
  EXPECT_EQ(rig.hsm.CreateClient(rig.vm, "x", nullptr, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(Clients, NameIsOneToFifteenCharacters) {
  ManualRig rig(/*vcpus=*/4, Options());
  auto ok = [](IoAccess&) { return absl::OkStatus(); };
  EXPECT_TRUE(rig.hsm.CreateClient(rig.vm, "fifteen_chars__", ok, false).ok());
  EXPECT_FALSE(rig.hsm.CreateClient(rig.vm, "sixteen_chars___", ok, false).ok());
  EXPECT_FALSE(rig.hsm.CreateClient(rig.vm, "", ok, false).ok());
}

TEST_P(Clients, RangeAddRejectsEndBelowStartAndDelNeedsExactMatch) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId c = rig.AddConstantClient("c", 0);
  EXPECT_EQ(rig.hsm.AddRange(c, kTypeMmio, 0x2000, 0x1FFF).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypeMmio, 0x1000, 0x1FFF).ok());
  EXPECT_EQ(rig.hsm.DelRange(c, kTypeMmio, 0x1000, 0x1FFE).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(rig.hsm.DelRange(c, kTypeMmio, 0x1000, 0x1FFF).ok());
  EXPECT_EQ(rig.hsm.DelRange(c, kTypeMmio, 0x1000, 0x1FFF).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(Clients, TheDefaultClientHasNoRanges) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  EXPECT_EQ(rig.hsm.AddRange(dm, kTypePortIo, 0x3F8, 0x3FF).code(),
            absl::StatusCode::kInvalidArgument);
  // It still takes what no range owns.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
}

TEST_P(Clients, VcpuNumIsBoundedToSixteen) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  EXPECT_EQ(hsm.CreateVm(1, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hsm.CreateVm(1, 17).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(hsm.CreateVm(1, 16).ok());
  EXPECT_FALSE(hv.CreateVm(17).ok());
  EXPECT_FALSE(hv.CreateVm(0).ok());
}

// Every call that names a VM or a client the HSM does not have answers
// NotFound and touches nothing, as the kernel's ioctls answer -ENOENT or
// -EINVAL for a VM the file does not hold.
TEST_P(Clients, EveryCallNamingAVmOrClientThatIsNotThereAnswersNotFound) {
  ManualRig rig(/*vcpus=*/2, Options());
  const uint16_t no_vm = rig.vm + 1;
  const ClientId no_client = 0xBEEF;
  const auto not_found = absl::StatusCode::kNotFound;
  const IoHandler ok = [](IoAccess&) { return absl::OkStatus(); };
  EXPECT_EQ(rig.hsm.SetIoreqBuffer(no_vm, rig.hv.shared_page(rig.vm)).code(),
            not_found);
  EXPECT_EQ(rig.hsm.DestroyVm(no_vm).code(), not_found);
  EXPECT_EQ(rig.hsm.CreateClient(no_vm, "c", ok, false).status().code(),
            not_found);
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(no_vm, 0).code(), not_found);
  EXPECT_EQ(rig.hsm.ClearRequests(no_vm).code(), not_found);
  EXPECT_EQ(rig.hsm.ResetVm(no_vm).code(), not_found);
  EXPECT_EQ(rig.hsm.SetPostedRing(no_vm, nullptr).code(), not_found);
  EXPECT_EQ(rig.hsm.AssignPosted(no_vm, PostedArgs{}).status().code(),
            not_found);
  EXPECT_EQ(rig.hsm.DeassignPosted(no_vm, 1).code(), not_found);
  EXPECT_EQ(rig.hsm.DrainPosted(no_vm).code(), not_found);
  EXPECT_EQ(rig.hsm.Ioeventfd(no_vm, IoeventfdArgs{}).code(), not_found);
  EXPECT_EQ(rig.hsm.ioeventfds(no_vm), nullptr);
  EXPECT_EQ(rig.hsm.HolderOf(no_vm, 0).status().code(), not_found);
  EXPECT_EQ(rig.hsm.SlotCompletions(no_vm).status().code(), not_found);

  EXPECT_EQ(rig.hsm.DestroyClient(no_client).code(), not_found);
  EXPECT_EQ(rig.hsm.AddRange(no_client, kTypePortIo, 0x60, 0x60).code(),
            not_found);
  EXPECT_EQ(rig.hsm.DelRange(no_client, kTypePortIo, 0x60, 0x60).code(),
            not_found);
  EXPECT_EQ(rig.hsm.WaitForRequests(no_client).status().code(), not_found);
  EXPECT_EQ(rig.hsm.InterruptWait(no_client).code(), not_found);
  EXPECT_EQ(rig.hsm.ServeDefaultRequests(no_client, ok).code(), not_found);
  EXPECT_EQ(rig.hsm.ServeClient(no_client).code(), not_found);
  EXPECT_EQ(rig.hsm.PendingBitmap(no_client).status().code(), not_found);
  EXPECT_EQ(rig.hsm.Resolve(no_client).status().code(), not_found);

  // The VM that is there still works, with its page set once.
  EXPECT_EQ(rig.hsm.SetIoreqBuffer(rig.vm, rig.hv.shared_page(rig.vm)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(rig.hsm.ioeventfds(rig.vm) != nullptr);
}

// The default client's calls (the device model's wait, serve and finish)
// take only the default client, and ServeClient() only another: each
// refuses the other kind rather than serve it the wrong way.
TEST_P(Clients, EachKindOfClientIsServedOnlyByItsOwnCalls) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  const ClientId c = rig.AddConstantClient("c", 0);
  const absl::StatusOr<ClientHandle> other = rig.hsm.Resolve(c);
  ASSERT_TRUE(other.ok()) << other.status();
  const IoHandler ok = [](IoAccess&) { return absl::OkStatus(); };
  const auto invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(rig.hsm.WaitForRequests(c).status().code(), invalid);
  EXPECT_EQ(rig.hsm.WaitForRequests(*other).status().code(), invalid);
  EXPECT_EQ(rig.hsm.ServeDefaultRequests(c, ok).code(), invalid);
  EXPECT_EQ(rig.hsm.ServeDefaultRequests(*other, ok).code(), invalid);
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(*other, 0).code(), invalid);
  EXPECT_EQ(rig.hsm.ServeClient(dm).code(), invalid);
}

// A topology's name is how a flag names it, both ways, and nothing else is
// one.
TEST(TopologyNames, EachNameParsesToItsTopology) {
  for (Topology t : kAllTopologies) {
    absl::StatusOr<Topology> parsed = ParseTopology(TopologyName(t));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_STREQ(TopologyName(Topology::kKernel), "kernel");
  EXPECT_STREQ(TopologyName(Topology::kDirect), "direct");
  EXPECT_EQ(ParseTopology("Direct").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTopology("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- [find-client]

TEST_P(FindClient, NewestClientFirstThenDefault) {
  ManualRig rig(/*vcpus=*/3, Options());
  const ClientId old_client = rig.AddConstantClient("old", 1);
  const ClientId new_client = rig.AddConstantClient("new", 2);
  ASSERT_TRUE(rig.hsm.AddRange(old_client, kTypeMmio, 0x1000, 0x1FFF).ok());
  ASSERT_TRUE(rig.hsm.AddRange(new_client, kTypeMmio, 0x1000, 0x10FF).ok());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioRead(0x1010, 4), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, MmioRead(0x1800, 4), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 2, MmioRead(0x9000, 4), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(new_client), 1u << 0);
  EXPECT_EQ(*rig.hsm.PendingBitmap(old_client), 1u << 1);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u << 2);
}

TEST_P(FindClient, PciCfgAlwaysGoesToTheDefaultClient) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId c = rig.AddConstantClient("greedy", 0);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  IoAccess pci;
  pci.type = kTypePciCfg;
  pci.size = 4;
  pci.address = 0;
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, pci, false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);
}

TEST_P(FindClient, NoClientAtAllLeavesThePendingRequestAndGoesOn) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId c = rig.AddConstantClient("c", 0);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x3F8, 1), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStatePending);
  // no_client counts a dispatcher's look at a request nobody can take; the
  // direct topology has no dispatcher, and no client claims the request.
  EXPECT_EQ(rig.hsm.stats().no_client, direct() ? 0u : 1u);
  // The kernel returns at vCPU 0; the model dispatches vCPU 1 too.
  EXPECT_EQ(rig.State(1), kStateProcessing);
}

// ---------------------------------------------------------------- [cf8cfc]

TEST_P(Cf8Cfc, DispatchFoldsAConfigCycleIntoThePciDevice) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortWrite(0xCF8, 4, 0x80001800),
                                   true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateComplete);  // completed in place
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, kShort).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0xCFE, 2), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(rig.Slot(0).type, kTypePciCfg);
  EXPECT_EQ(rig.Slot(0).reqs.pci_request.dev, 3u);
  EXPECT_EQ(rig.Slot(0).reqs.pci_request.reg, 2u);
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [](IoAccess& access) {
    access.value = 0x1000;  // device id
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x1000u);
  EXPECT_EQ(rig.hsm.stats().cf8cfc_in_place, 1u);
  EXPECT_EQ(rig.hsm.stats().cf8cfc_converted, 1u);
}

// ---------------------------------------------------------------- [client-wait]

TEST_P(ClientWait, ReturnsPendingBitmapOrCancelledWhenDestroying) {
  System system(Strategy::kEventfd, Threaded());  // threads on: the dispatcher wakes the waiter
  EmulatedHypervisor& hv = system.hv;
  Hsm& hsm = system.hsm;
  const uint16_t vm = *system.AddVm(2);
  const ClientId dm = *hsm.CreateClient(vm, "dm", nullptr, true);
  std::thread vcpu([&] {
    ASSERT_TRUE(hv.InsertRequest(vm, 1, PortRead(0x60, 1), false).ok());
  });
  absl::StatusOr<uint32_t> bits = hsm.WaitForRequests(dm);
  vcpu.join();
  ASSERT_TRUE(bits.ok());
  EXPECT_EQ(*bits, 1u << 1);
  std::thread waiter([&] {
    // Serve the one request, then wait again until interrupted.
    ASSERT_TRUE(hsm.ServeDefaultRequests(dm, [](IoAccess&) {
      return absl::OkStatus();
    }).ok());
    EXPECT_EQ(hsm.WaitForRequests(dm).status().code(),
              absl::StatusCode::kCancelled);
  });
  EXPECT_TRUE(hv.WaitForCompletion(vm, 1, absl::Seconds(5)).ok());
  ASSERT_TRUE(hsm.InterruptWait(dm).ok());
  waiter.join();
  ASSERT_TRUE(hsm.DestroyClient(dm).ok());
}

TEST_P(ClientWait, AHandleServesWithoutALookupAndIsRefusedOnceDestroyed) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  absl::StatusOr<ClientHandle> handle = rig.hsm.Resolve(dm);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ(handle->id(), dm);
  EXPECT_EQ(rig.hsm.Resolve(dm + 100).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.WaitForRequests(*handle), 1u);
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(*handle, [](IoAccess& access) {
    access.value = 0x33;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x33u);
  ASSERT_TRUE(rig.hsm.DestroyClient(dm).ok());
  EXPECT_EQ(rig.hsm.WaitForRequests(*handle).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(rig.hsm.ServeDefaultRequests(*handle, [](IoAccess&) {
    return absl::OkStatus();
  }).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(rig.hsm.WaitForRequests(ClientHandle()).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An empty handle names no client: ids count from 1.
  EXPECT_FALSE(ClientHandle().valid());
  EXPECT_EQ(ClientHandle().id(), 0u);
  EXPECT_GE(dm, 1u);
}

TEST_P(ClientWait, HandlerErrorLeavesTheBitSetThenGivesUp) {
  HsmOptions options = Options();
  options.handler_max_attempts = 3;
  ManualRig rig(/*vcpus=*/1, options);
  int calls = 0;
  const ClientId c = *rig.hsm.CreateClient(
      rig.vm, "flaky",
      [&](IoAccess&) {
        ++calls;
        return absl::UnavailableError("device busy");
      },
      false);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_FALSE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 1u);  // bit left set
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_FALSE(rig.hsm.ServeClient(c).ok());
  EXPECT_TRUE(rig.hsm.ServeClient(c).ok());  // third failure: answered ~0
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0xFFu);
  EXPECT_EQ(rig.hsm.stats().handler_gave_up, 1u);
}

// The retry budget is per request: a request that needed two tries leaves
// the next request of the same vCPU its whole budget.
TEST_P(ClientWait, EachRequestHasItsOwnRetryBudget) {
  HsmOptions options = Options();
  options.handler_max_attempts = 3;
  ManualRig rig(/*vcpus=*/1, options);
  int calls = 0;
  const ClientId c = *rig.hsm.CreateClient(
      rig.vm, "flaky",
      [&](IoAccess& access) {
        if (++calls % 3 != 0) return absl::UnavailableError("device busy");
        access.value = 0x42;
        return absl::OkStatus();
      },
      false);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  for (int request = 0; request < 2; ++request) {
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
    rig.hsm.Dispatch();
    EXPECT_FALSE(rig.hsm.ServeClient(c).ok());
    EXPECT_FALSE(rig.hsm.ServeClient(c).ok());
    EXPECT_TRUE(rig.hsm.ServeClient(c).ok());  // the third try answers
    EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x42u)
        << "request " << request;
  }
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(rig.hsm.stats().handler_gave_up, 0u);
}

// A handler that failed is tried again after a pause, not at once: a device
// busy for its first 1.9 ms answers within three tries, 1 ms apart.
TEST_P(ClientWait, AFailedHandlerIsTriedAgainAfterAPause) {
  HsmOptions options = Options();
  options.run_threads = true;
  options.handler_max_attempts = 3;
  ManualRig rig(/*vcpus=*/1, options);
  std::atomic<int> calls{0};
  absl::Time first;  // the client thread's only
  const ClientId c = *rig.hsm.CreateClient(
      rig.vm, "busy",
      [&](IoAccess& access) {
        if (calls.fetch_add(1, std::memory_order_relaxed) == 0) {
          first = absl::Now();
        }
        if (absl::Now() - first < absl::Microseconds(1900)) {
          return absl::UnavailableError("device busy");
        }
        access.value = 0x42;
        return absl::OkStatus();
      },
      false);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(10)), 0x42u);
  EXPECT_GE(calls.load(std::memory_order_relaxed), 2);
  EXPECT_EQ(rig.hsm.stats().handler_gave_up, 0u);
}

// ---------------------------------------------------------------- [notify-finish]

TEST_P(NotifyFinish, CompletesTheDefaultClientsRequest) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortWrite(0x80, 1, 5), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u << 1);
  EXPECT_EQ(*rig.hsm.HolderOf(rig.vm, 1), "dm");
  ASSERT_TRUE(rig.hsm.NotifyRequestFinish(rig.vm, 1).ok());
  EXPECT_EQ(rig.State(1), kStateComplete);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0u);
  EXPECT_EQ(*rig.hsm.HolderOf(rig.vm, 1), "");
  EXPECT_TRUE(rig.hv.WaitForCompletion(rig.vm, 1, kShort).ok());
}

// The device model's finish through its own handle, as ACRN's goes through
// its file: the same completion, with the VM taken from the client. Refused
// for an in-process client's handle, a vCPU the VM lacks, a handle whose
// client has left its VM, and a request the default client does not hold.
TEST_P(NotifyFinish, TheDefaultClientsHandleFinishesWithoutNamingItsVm) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  const ClientHandle handle = *rig.hsm.Resolve(dm);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortWrite(0x80, 1, 5), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(*rig.hsm.PendingBitmap(dm), 1u << 1);

  EXPECT_EQ(rig.hsm.NotifyRequestFinish(*rig.hsm.Resolve(uart), 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(handle, 2).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(handle, 0).code(),
            absl::StatusCode::kFailedPrecondition);  // not held
  EXPECT_EQ(rig.State(1), kStateProcessing);

  ASSERT_TRUE(rig.hsm.NotifyRequestFinish(handle, 1).ok());
  EXPECT_EQ(rig.State(1), kStateComplete);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0u);
  EXPECT_TRUE(rig.hv.WaitForCompletion(rig.vm, 1, kShort).ok());

  ASSERT_TRUE(rig.hsm.DestroyClient(dm).ok());
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(handle, 1).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(NotifyFinish, VcpuAtOrBeyondVcpuNumIsAnError) {
  ManualRig rig(/*vcpus=*/2, Options());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(rig.vm, 2).code(),
            absl::StatusCode::kInvalidArgument);
  // Every look-up by vCPU id checks it the same way (CheckVcpu()).
  EXPECT_EQ(rig.hsm.HolderOf(rig.vm, 1).value_or("?"), "");
  EXPECT_EQ(rig.hsm.HolderOf(rig.vm, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- [clear]

TEST_P(Clear, PendingRequestsCompleteWithoutEmulation) {
  ManualRig rig(/*vcpus=*/2, Options());
  int calls = 0;
  const ClientId c = rig.AddConstantClient("c", 9, &calls);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  ASSERT_TRUE(rig.hsm.ClearRequests(rig.vm).ok());
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(rig.hsm.stats().completed_while_clearing, 1u);
  // After the clear, requests are emulated again.
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, kShort).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 9u);
}

TEST_P(Clear, ForcesTheDefaultClientsRequestsComplete) {
  ManualRig rig(/*vcpus=*/3, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  for (uint32_t v = 0; v < 3; ++v) {
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, v, PortRead(0x60, 1), false).ok());
  }
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0b111u);
  ASSERT_TRUE(rig.hsm.ClearRequests(rig.vm).ok());
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0u);
  for (uint32_t v = 0; v < 3; ++v) EXPECT_EQ(rig.State(v), kStateComplete);
  EXPECT_EQ(rig.hsm.stats().forced_by_clear, 3u);
  // The device model finishing late is refused, not a second completion.
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(rig.vm, 0).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(Clear, WaitsForInProcessClientsToDrain) {
  HsmOptions options = Threaded();
  // Long, so that a clear that waited for it and not for the drain shows.
  options.clear_drain_timeout = absl::Seconds(10);
  System system(Strategy::kEventfd, options);
  EmulatedHypervisor& hv = system.hv;
  Hsm& hsm = system.hsm;
  const uint16_t vm = *system.AddVm(1);
  std::atomic<bool> in_handler{false};
  const ClientId c = *hsm.CreateClient(
      vm, "slow",
      [&](IoAccess& access) {
        in_handler = true;
        absl::SleepFor(absl::Milliseconds(50));
        access.value = 0x42;
        return absl::OkStatus();
      },
      false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), true).ok());
  while (!in_handler) absl::SleepFor(absl::Milliseconds(1));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(hsm.ClearRequests(vm).ok());
  // The clear returned only after the client completed its request, and
  // at the drain, not at its timeout (the VM's ioeventfd client, which
  // holds nothing, does not count as one still draining).
  EXPECT_EQ(*hsm.PendingBitmap(c), 0u);
  EXPECT_EQ(*hv.WaitForCompletion(vm, 0, kShort), 0x42u);
  EXPECT_LT(absl::Now() - start, options.clear_drain_timeout / 2);
}

// A clear waits only while a client holds a request: one that holds
// nothing (here every client of a VM with no request) returns at once.
TEST_P(Clear, ReturnsAtOnceWhenNoClientHoldsARequest) {
  HsmOptions options = Options();
  options.clear_drain_timeout = absl::Seconds(10);
  ManualRig rig(/*vcpus=*/2, options);
  rig.AddConstantClient("c", 0);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(rig.hsm.ClearRequests(rig.vm).ok());
  EXPECT_LT(absl::Now() - start, options.clear_drain_timeout / 2);
}

// ---------------------------------------------------------------- [pause]

TEST_P(Pause, NoDispatchWhilePausedAndResumeCatchesUp) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId c = rig.AddConstantClient("c", 3);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  rig.hsm.Pause();
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStatePending);
  rig.hsm.Pause();  // nests
  rig.hsm.Resume();
  EXPECT_EQ(rig.State(0), kStatePending);
  rig.hsm.Resume();  // re-armed: dispatches once
  EXPECT_EQ(rig.State(0), kStateProcessing);
}

TEST_P(Pause, ResumeRedeliversAnUpcallMissedWhilePaused) {
  System system(Strategy::kEventfd, Threaded());
  EmulatedHypervisor& hv = system.hv;
  Hsm& hsm = system.hsm;
  const uint16_t vm = *system.AddVm(1);
  auto answer = [](IoAccess& access) {
    access.value = 0x5A;
    return absl::OkStatus();
  };
  const ClientId c = *hsm.CreateClient(vm, "c", answer, false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  hsm.Pause();
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), false).ok());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(LoadStateAcquire(hv.shared_page(vm)->slots[0]), kStatePending);
  hsm.Resume();
  EXPECT_EQ(*hv.WaitForCompletion(vm, 0, absl::Seconds(5)), 0x5Au);
}

// ---------------------------------------------------------------- [destroy]

TEST_P(Destroy, ProcessingRequestsGoToTheDefaultClient) {
  ManualRig rig(/*vcpus=*/2, Options());
  const ClientId c = rig.AddConstantClient("gone", 1);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x61, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(*rig.hsm.PendingBitmap(c), 0b11u);
  ASSERT_TRUE(rig.hsm.DestroyClient(c).ok());
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0b11u);
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(rig.hsm.stats().handed_over_on_destroy, 2u);
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [](IoAccess& access) {
    access.value = 0x77;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x77u);
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 1, kShort), 0x77u);
  // Its ranges are gone: the next request goes to the default client.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0b01u);
}

TEST_P(Destroy, WithoutADefaultClientRequestsCompleteAllOnes) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId c = rig.AddConstantClient("gone", 1);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypeMmio, 0, 0xFFFF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioRead(0x10, 4), false).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.DestroyClient(c).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0xFFFFFFFFu);
  EXPECT_EQ(rig.hsm.stats().completed_on_destroy, 1u);
  EXPECT_EQ(rig.hsm.DestroyClient(c).code(), absl::StatusCode::kNotFound);
}

TEST_P(Destroy, DefaultClientsRequestsCompleteAllOnes) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 2), false).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.DestroyClient(dm).ok());
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0xFFFFu);
  // A new default client may now be created.
  EXPECT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
}

// ------------------------------------------------- SPEC section 7: hazards

TEST_P(Hazard, DestroyedClientStrandsNothing) {
  // Threads on: the client is destroyed while its handler is stuck.
  HsmOptions options = Threaded();
  options.handler_max_attempts = 1000000;
  System system(Strategy::kEventfd, options);
  EmulatedHypervisor& hv = system.hv;
  Hsm& hsm = system.hsm;
  const uint16_t vm = *system.AddVm(1);
  std::atomic<int> failures{0};
  const ClientId c = *hsm.CreateClient(
      vm, "broken",
      [&](IoAccess&) {
        ++failures;
        return absl::InternalError("broken device");
      },
      false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), false).ok());
  while (failures.load() < 2) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(hsm.DestroyClient(c).ok());
  absl::StatusOr<uint64_t> value = hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 0xFFu);
}

TEST_P(Hazard, SpuriousCompletionOnAFreeSlotIsRefused) {
  ManualRig rig(/*vcpus=*/2, Options());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  EXPECT_EQ(rig.State(0), kStateFree);
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(rig.vm, 0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rig.State(0), kStateFree);  // the kernel would leave COMPLETE
  EXPECT_EQ(rig.hsm.stats().spurious_completions, 1u);
  // The slot still takes a request.
  EXPECT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
}

// [posted] The posted ring is a page shared with the hypervisor, as the
// request buffer is: one not on a page boundary is refused, and none (a
// null ring) turns posting off.
TEST_P(Hazard, AnUnalignedPostedRingIsRefused) {
  ManualRig rig(/*vcpus=*/1, Options());
  PostedRing* const ring = rig.hv.posted_ring(rig.vm);
  ASSERT_NE(ring, nullptr);
  PostedRing* const unaligned = reinterpret_cast<PostedRing*>(
      reinterpret_cast<uintptr_t>(ring) + 64);
  EXPECT_EQ(rig.hsm.SetPostedRing(rig.vm, unaligned).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(rig.hsm.SetPostedRing(rig.vm, ring).ok());
  EXPECT_TRUE(rig.hsm.SetPostedRing(rig.vm, nullptr).ok());
}

TEST_P(Hazard, AnUnalignedBufferIsRefused) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  const uint16_t vm = *hv.CreateVm(1);
  ASSERT_TRUE(hsm.CreateVm(vm, 1).ok());
  char* base = reinterpret_cast<char*>(hv.shared_page(vm));
  EXPECT_EQ(hsm.SetIoreqBuffer(vm, reinterpret_cast<SharedPage*>(base + 64)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hsm.SetIoreqBuffer(vm, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(hsm.SetIoreqBuffer(vm, hv.shared_page(vm)).ok());
}

TEST_P(Hazard, UnboundedVcpuNumIsRejected) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  EXPECT_EQ(hsm.CreateVm(0, 4096).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(Hazard, TruncatedU32VcpuIdIsRejected) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  // 65536 is vCPU 0 once truncated to u16: the kernel would complete it.
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(rig.vm, 65536).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
}

TEST_P(Hazard, DispatchContinuesPastAVmWithoutBuffer) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  ASSERT_TRUE(hsm.CreateVm(0, 1).ok());  // no buffer set: comes first
  const uint16_t vm = *hv.CreateVm(1);
  const uint16_t id = 7;
  ASSERT_TRUE(hsm.CreateVm(id, 1).ok());
  ASSERT_TRUE(hsm.SetIoreqBuffer(id, hv.shared_page(vm)).ok());
  const ClientId c = *hsm.CreateClient(
      id, "c", [](IoAccess&) { return absl::OkStatus(); }, false);
  ASSERT_TRUE(hsm.AddRange(c, kTypePortIo, 0, 0xFFFF).ok());
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), true).ok());
  hsm.Dispatch();
  EXPECT_EQ(LoadStateAcquire(hv.shared_page(vm)->slots[0]), kStateProcessing);
}

// [clear] A VM whose buffer was never set has no slot to look at: clearing
// it completes nothing and touches no page (the kernel's clear looks only
// at its clients' bits).
// [notify-finish] The device model's finish on a VM whose buffer was
// never set has no slot to complete: refused, touching no page.
TEST_P(Hazard, FinishingOnAVmWithoutABufferIsRefused) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  ASSERT_TRUE(hsm.CreateVm(0, 2).ok());  // no buffer set
  const ClientId dm = *hsm.CreateClient(0, "dm", nullptr, true);
  EXPECT_EQ(hsm.NotifyRequestFinish(0, 1).code(),
            absl::StatusCode::kFailedPrecondition);
  const absl::StatusOr<ClientHandle> handle = hsm.Resolve(dm);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ(hsm.NotifyRequestFinish(*handle, 1).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(hsm.stats().completed, 0u);
  // Refused before any client's bits are looked at: not counted as a
  // completion of a request the client does not hold.
  EXPECT_EQ(hsm.stats().spurious_completions, 0u);
}

TEST_P(Hazard, ClearingAVmWithoutABufferTouchesNoPage) {
  EmulatedHypervisor hv;
  Hsm hsm(&hv, Options());
  ASSERT_TRUE(hsm.CreateVm(0, 2).ok());  // no buffer set
  ASSERT_TRUE(hsm.CreateClient(0, "dm", nullptr, true).ok());
  EXPECT_TRUE(hsm.ClearRequests(0).ok());
  EXPECT_EQ(hsm.stats().completed, 0u);
}

TEST_P(Hazard, DefaultClientCheckThenCreateRace) {
  for (int round = 0; round < 20; ++round) {
    ManualRig rig(/*vcpus=*/1, Options());
    std::atomic<int> created{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok()) ++created;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 1) << "round " << round;
  }
}

// An in-process client "dev" for ports 0x100-0x1FF that answers every read
// with 0x12 and counts its calls.
ClientId AddPortDevice(ManualRig& rig, int* calls) {
  const ClientId c = rig.AddConstantClient("dev", 0x12, calls);
  EXPECT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x100, 0x1FF).ok());
  return c;
}

// A handler sees only a request that passes CheckRequest(), even when the
// hypervisor rewrites the slot after the dispatcher checked it.
TEST_P(Hazard, SlotRewrittenAfterDispatchNeverReachesAHandler) {
  ManualRig rig(/*vcpus=*/4, Options());
  int calls = 0;
  const ClientId c = AddPortDevice(rig, &calls);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x100, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(rig.State(0), kStateProcessing);
  rig.Slot(0).reqs.pio_request.size = 3;  // not 1, 2 or 4
  const uint64_t rejected = rig.hsm.stats().rejected_invalid;
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(rig.hsm.stats().rejected_invalid, rejected + 1);
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(RequestValue(rig.Slot(0)) & 0xFF, 0xFFu);  // all-ones
}

TEST_P(Hazard, DefaultClientGetsOnlyCheckedCopies) {
  ManualRig rig(/*vcpus=*/4, Options());
  const ClientId dm =
      rig.hsm.CreateClient(rig.vm, "dm", nullptr, /*is_default=*/true).value();
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, MmioRead(0xA0000, 4), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(rig.State(1), kStateProcessing);
  rig.Slot(1).reqs.mmio_request.size = 16;
  int calls = 0;
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [&](IoAccess&) {
    ++calls;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(rig.State(1), kStateComplete);
}

// [clear] A request the clear answered while the device model's handler
// ran is the clear's: the handler's value is not written into the slot,
// and no second completion is tried.
TEST_P(Hazard, ADefaultRequestClearedDuringItsHandlerKeepsTheClearsAnswer) {
  ManualRig rig(/*vcpus=*/1, Options());
  const ClientId dm =
      rig.hsm.CreateClient(rig.vm, "dm", nullptr, /*is_default=*/true).value();
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x80, 1), true).ok());
  rig.hsm.Dispatch();
  uint64_t cleared_value = 0;
  int calls = 0;
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [&](IoAccess& access) {
    ++calls;
    EXPECT_TRUE(rig.hsm.ClearRequests(rig.vm).ok());
    EXPECT_EQ(rig.State(0), kStateComplete);
    cleared_value = RequestValue(rig.Slot(0));
    access.value = 0x5A;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_NE(cleared_value & 0xFF, 0x5Au);
  EXPECT_EQ(RequestValue(rig.Slot(0)), cleared_value);
  EXPECT_EQ(rig.hsm.stats().spurious_completions, 0u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0u);
}

// The HSM takes a slot from PENDING and gives it back as COMPLETE with
// compare-exchanges from the state it owns: a hostile hypervisor that
// rewrote the state meanwhile keeps what it wrote, nothing of the HSM's
// reaches that slot, and the HSM counts it in ownership_lost. One test for
// each place the HSM can find it so: the hand-over, the serving, the
// completion and a reset.

// The kernel dispatcher routed a PENDING slot, then lost it before its
// store of PROCESSING (core/hsm/internal/engine.h's before_hand_over is
// that window).
TEST_P(Hazard, StateRewrittenBeforeTheHandOverIsLeftAlone) {
  if (direct()) {
    GTEST_SKIP() << "no dispatcher: a client's claim that loses its "
                    "compare-exchange has taken nothing (DirectClaimer)";
  }
  ManualRig rig(/*vcpus=*/2, Options());
  int calls = 0;
  const ClientId c = AddPortDevice(rig, &calls);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x100, 1), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x104, 1), false).ok());
  HsmTestPeer::Context(rig.hsm).before_hand_over =
      [&rig](hsm_internal::VmState&, uint32_t vcpu) {
        if (vcpu == 0) StoreStateRelease(rig.Slot(0), kStateFree);
      };
  rig.hsm.Dispatch();
  EXPECT_EQ(rig.State(0), kStateFree);  // as the hypervisor wrote it
  EXPECT_EQ(rig.State(1), kStateProcessing);
  EXPECT_EQ(rig.hsm.stats().ownership_lost, 1u);
  EXPECT_EQ(rig.hsm.stats().dispatched, 1u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0b10u);  // vCPU 0's bit never set
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rig.State(0), kStateFree);
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 1, kShort), 0x12u);
}

// A held request's slot was rewritten before its client served it: the
// client lets go of it without calling its handler, for an in-process
// client and for the default client alike.
TEST_P(Hazard, StateRewrittenBeforeServingReachesNoHandler) {
  ManualRig rig(/*vcpus=*/2, Options());
  int calls = 0;
  const ClientId c = AddPortDevice(rig, &calls);
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x100, 1), false).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(*rig.hsm.PendingBitmap(c), 0b01u);
  ASSERT_EQ(*rig.hsm.PendingBitmap(dm), 0b10u);
  StoreStateRelease(rig.Slot(0), kStateFree);
  StoreStateRelease(rig.Slot(1), kStateComplete);
  int dm_calls = 0;
  auto device_model = [&dm_calls](IoAccess&) {
    ++dm_calls;
    return absl::OkStatus();
  };
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, device_model).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(dm_calls, 0);
  EXPECT_EQ(rig.hsm.stats().ownership_lost, 2u);
  EXPECT_EQ(rig.hsm.stats().completed, 0u);
  EXPECT_EQ(rig.State(0), kStateFree);
  EXPECT_EQ(rig.State(1), kStateComplete);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0u);
  // The device model no longer holds vCPU 1's request: its finish is
  // refused rather than completing whatever the slot holds next.
  EXPECT_EQ(rig.hsm.NotifyRequestFinish(rig.vm, 1).code(),
            absl::StatusCode::kFailedPrecondition);
}

// The handler ran, and meanwhile the hypervisor made the slot PENDING
// again: the completion does not store COMPLETE over the hypervisor's state
// or notify, and the request the slot now holds is served once, afresh.
TEST_P(Hazard, StateRewrittenWhileServedIsNotCompletedOver) {
  ManualRig rig(/*vcpus=*/1, Options());
  int calls = 0;
  const ClientId c = *rig.hsm.CreateClient(
      rig.vm, "dev",
      [&rig, &calls](IoAccess& access) {
        if (++calls == 1) StoreStateRelease(rig.Slot(0), kStatePending);
        access.value = 0x30 + calls;
        return absl::OkStatus();
      },
      /*is_default=*/false);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x100, 0x1FF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x100, 1), false).ok());
  rig.hsm.Dispatch();
  const uint64_t notified = rig.hv.stats().notifications;
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rig.State(0), kStatePending);  // not COMPLETE
  EXPECT_EQ(rig.hsm.stats().ownership_lost, 1u);
  EXPECT_EQ(rig.hsm.stats().completed, 0u);
  EXPECT_EQ(rig.hv.stats().notifications, notified);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(rig.hsm.stats().completed, 1u);
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, kShort), 0x32u);
}

// A client that did not serve within the clear's window keeps its bit
// through a reset's clear; the reset makes every slot FREE and drops the
// bit, so the client cannot complete the vCPU's next request. The request
// is one the hypervisor's garbage made (PENDING stored into a FREE slot,
// no vCPU waiting): the reset waits for every vCPU that does wait.
TEST_P(Hazard, ABitKeptThroughAResetIsDropped) {
  ManualRig rig(/*vcpus=*/2, Options());
  int calls = 0;
  const ClientId c = AddPortDevice(rig, &calls);
  EncodeAccess(PortRead(0x100, 1), rig.Slot(1));
  StoreStateRelease(rig.Slot(1), kStatePending);
  rig.hsm.Dispatch();
  ASSERT_EQ(*rig.hsm.PendingBitmap(c), 0b10u);
  // Nothing serves here, so the clear's drain runs out (20 ms).
  ASSERT_TRUE(rig.hsm.ResetVm(rig.vm).ok());
  EXPECT_EQ(rig.State(1), kStateFree);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0u);
  EXPECT_EQ(rig.hsm.stats().ownership_lost, 1u);
  // vCPU 1's next request goes to the default client, not to `dev`.
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), false).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(c).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(rig.State(1), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 0b10u);
}

// ---------------------------------------------------------------- placement

// HsmOptions::thread_cpus: the HSM's in-process clients (and, kernel
// topology, the dispatcher before them) run on the CPU they are given; so
// does a device model given one.
TEST_P(Placed, TheHsmsThreadsRunWhereTheyArePinned) {
  for (int cpu : AllowedCpus()) {
    HsmOptions options = Threaded();
    options.thread_cpus = {cpu};
    System system(Strategy::kFutex, options);
    const uint16_t vm = *system.AddVm(1);
    std::atomic<int> client_cpu{-1}, dm_cpu{-1};
    const ClientId c = *system.hsm.CreateClient(
        vm, "c",
        [&](IoAccess& access) {
          client_cpu.store(sched_getcpu());
          access.value = 1;
          return absl::OkStatus();
        },
        false);
    ASSERT_TRUE(system.hsm.AddRange(c, kTypePortIo, 0x60, 0x60).ok());
    DeviceModelThread dm(&system.hsm, vm,
                         [&](IoAccess& access) {
                           dm_cpu.store(sched_getcpu());
                           access.value = 2;
                           return absl::OkStatus();
                         },
                         {cpu});
    ASSERT_TRUE(dm.Start().ok());
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                         absl::Seconds(5)),
                1u);
      EXPECT_EQ(client_cpu.load(), cpu);
      EXPECT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x70, 1), false,
                                         absl::Seconds(5)),
                2u);
      EXPECT_EQ(dm_cpu.load(), cpu);
    }
    dm.Stop();
  }
}

// ------------------------------------------------ HsmOptions::service_poll

// Not a rule of the kernel's: with service_poll, the dispatcher and the
// client poll after the work they found, so requests that keep coming
// within the window cost the HSM's doorbells no system call at all (no
// sleep, and so no wake). Without it each hop sleeps and is woken.
TEST_P(ServicePoll, RequestsWithinTheWindowCostTheHsmNoSystemCall) {
  HsmOptions options = Threaded();
  // Far longer than a request takes, and than the settling below, even
  // under a sanitizer.
  options.service_poll = absl::Seconds(5);
  // No timed rescans: every sleep would be a system call of its own.
  options.rescan_interval = absl::InfiniteDuration();
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(1);
  const ClientId c = *system.hsm.CreateClient(
      vm, "c",
      [](IoAccess& access) {
        access.value = 0x5A;
        return absl::OkStatus();
      },
      false);
  ASSERT_TRUE(system.hsm.AddRange(c, kTypePortIo, 0x60, 0x60).ok());
  // The first requests find every thread asleep.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                       absl::Seconds(10)),
              0x5Au);
  }
  // Every thread of the HSM reaches its first sleep: the VM's ioeventfd
  // client has no work here, and on a loaded machine its thread may start
  // late, beside a client that polls. Settled once the count holds still
  // for 50 ms (at most 2 s, well inside the poll window).
  uint64_t before = system.hsm.syscalls();
  for (const absl::Time give_up = absl::Now() + absl::Seconds(2);
       absl::Now() < give_up;) {
    absl::SleepFor(absl::Milliseconds(50));
    const uint64_t now = system.hsm.syscalls();
    if (now == before) break;
    before = now;
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                       absl::Seconds(10)),
              0x5Au);
  }
  EXPECT_EQ(system.hsm.syscalls() - before, 0u);
}

INSTANTIATE_TEST_SUITE_P(Topologies, Placed, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, ServicePoll, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Lifecycle, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, HvInsert, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, HvReset, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Buffer, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Dispatch, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Complete, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Clients, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, FindClient, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Cf8Cfc, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, ClientWait, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, NotifyFinish, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Clear, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Pause, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Destroy, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);
INSTANTIATE_TEST_SUITE_P(Topologies, Hazard, ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);

}  // namespace
}  // namespace ioreq
