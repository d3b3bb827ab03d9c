// The hypervisor's side of the two profiles (core/profile/profile.h), one
// test per difference, each under both profiles where both have a
// behaviour: docs/profiles.md names these tests.
#include <cstring>

#include "core/abi/slot_state.h"
#include "core/harness/manual_rig.h"
#include "core/hsm/cf8cfc.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

using testing::ManualOptions;
using testing::ManualRig;

constexpr uint64_t kUartLsr = 0x3FD;

// A rig whose default client is served by hand: the test plays the device
// model with ServeDefaultRequests().
struct Rig : ManualRig {
  explicit Rig(Profile profile, uint32_t vcpus = 2)
      : ManualRig(vcpus, ManualOptions(), profile) {
    dm = hsm.CreateClient(vm, "dm", Answer(0x60), /*is_default=*/true).value();
  }
  static IoHandler Answer(uint64_t value) {
    return [value](IoAccess& a) {
      if (a.direction == kDirRead) a.value = value;
      return absl::OkStatus();
    };
  }
  // Insert, dispatch, serve as the device model: the request is COMPLETE.
  void RunToComplete(uint32_t vcpu, const IoAccess& access) {
    ASSERT_TRUE(hv.InsertRequest(vm, vcpu, access, /*polling=*/false).ok());
    hsm.Dispatch();
    ASSERT_TRUE(hsm.ServeDefaultRequests(dm, Answer(0x60)).ok());
    ASSERT_EQ(State(vcpu), kStateComplete);
  }
  ClientId dm = 0;
};

// [acrn-insert] ACRN's insert leaves kernel_handled and the reserved fields
// as they were; the hardened hypervisor zeroes the reserved fields and marks
// the request the kernel's until routing says otherwise.
TEST(AcrnProfileTest, InsertLeavesKernelHandledAndReservedFields) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile);
    IoRequest& slot = rig.Slot(0);
    slot.kernel_handled = 0;
    std::memset(slot.reserved0, 0xAB, sizeof(slot.reserved0));
    slot.reserved1 = 0xCD;
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 0, PortRead(kUartLsr, 1), false).ok());
    if (profile == Profile::kAcrn) {
      EXPECT_EQ(slot.kernel_handled, 0u);
      EXPECT_EQ(slot.reserved0[0], 0xABABABABu);
      EXPECT_EQ(slot.reserved1, 0xCDu);
    } else {
      EXPECT_EQ(slot.kernel_handled, 1u);
      EXPECT_EQ(slot.reserved0[0], 0u);
      EXPECT_EQ(slot.reserved1, 0u);
    }
  }
}

// [acrn-gp] An insert into a slot that is not FREE fails under both; under
// `acrn` it is counted as a #GP injected into the guest.
TEST(AcrnProfileTest, InsertIntoBusySlotInjectsGp) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile);
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 1, PortRead(kUartLsr, 1), false).ok());
    ASSERT_TRUE(rig.hv.AbandonRequest(rig.vm, 1).ok());
    absl::Status again =
        rig.hv.InsertRequest(rig.vm, 1, PortRead(kUartLsr, 1), false);
    EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(rig.hv.stats().insert_refused, 1u);
    EXPECT_EQ(rig.hv.stats().gp_injected, profile == Profile::kAcrn ? 1u : 0u)
        << ProfileName(profile);
    EXPECT_EQ(again.message().find("#GP") != absl::string_view::npos,
              profile == Profile::kAcrn);
  }
}

// [acrn-wake] A notification that comes before the completion (a stray or
// a duplicate one): the hardened vCPU looks at its slot and waits on;
// ACRN's vCPU is released with no value and its slot stays busy, so its
// next access is refused (#GP).
TEST(AcrnProfileTest, StrayNotificationReleasesAcrnVcpuWithoutValue) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile);
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 0, PortRead(kUartLsr, 1), false).ok());
    ASSERT_TRUE(rig.hv.NotifyRequestFinish(rig.vm, 0).ok());  // stray
    absl::StatusOr<uint64_t> got =
        rig.hv.WaitForCompletion(rig.vm, 0, absl::Milliseconds(50));
    if (profile == Profile::kHardened) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
      rig.hsm.Dispatch();
      ASSERT_TRUE(rig.hsm.ServeDefaultRequests(rig.dm, Rig::Answer(0x60)).ok());
      got = rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(5));
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, 0x60u);
      EXPECT_EQ(rig.hv.stats().released_without_value, 0u);
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_EQ(rig.hv.stats().released_without_value, 1u);
      EXPECT_EQ(rig.State(0), kStatePending);  // not freed
      EXPECT_EQ(
          rig.hv.InsertRequest(rig.vm, 0, PortRead(kUartLsr, 1), false).code(),
          absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(rig.hv.stats().gp_injected, 1u);
    }
  }
}

// [acrn-wake] The event flag is sticky: a notification with nothing in
// flight stays armed, and ACRN's next request returns at once, before its
// completion.
TEST(AcrnProfileTest, ArmedFlagMakesNextAcrnRequestReturnEarly) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile);
    rig.RunToComplete(0, PortRead(kUartLsr, 1));
    ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0).ok());  // takes the ring
    ASSERT_TRUE(rig.hv.NotifyRequestFinish(rig.vm, 0).ok());  // a duplicate
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 0, PortRead(kUartLsr, 1), false).ok());
    absl::StatusOr<uint64_t> got =
        rig.hv.WaitForCompletion(rig.vm, 0, absl::Milliseconds(50));
    EXPECT_EQ(got.status().code(), profile == Profile::kAcrn
                                       ? absl::StatusCode::kDataLoss
                                       : absl::StatusCode::kDeadlineExceeded)
        << ProfileName(profile) << ": " << got.status();
  }
}

// [acrn-polling] Under `acrn` polling is the VM's: a request asking to be
// notified still completes by polling, and the finish hypercall signals
// nothing. Under `hardened` each request chooses.
TEST(AcrnProfileTest, PollingIsPerVmUnderAcrn) {
  for (Profile profile : kAllProfiles) {
    EmulatedHypervisor hv(Strategy::kEventfd, absl::Milliseconds(20), profile);
    Hsm hsm(&hv, ManualOptions(), Strategy::kEventfd);
    ConnectUpcall(hv, hsm);
    const uint16_t vm = hv.CreateVm(1, /*polling_vm=*/true).value();
    ASSERT_TRUE(hsm.CreateVm(vm, 1).ok());
    ASSERT_TRUE(hsm.SetIoreqBuffer(vm, hv.shared_page(vm)).ok());
    const ClientId dm =
        hsm.CreateClient(vm, "dm", Rig::Answer(7), true).value();
    ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(kUartLsr, 1),
                                 /*polling=*/false)
                    .ok());
    IoRequest& slot = hv.shared_page(vm)->slots[0];
    EXPECT_EQ(slot.completion_polling, profile == Profile::kAcrn ? 1u : 0u);
    hsm.Dispatch();
    // A polling request is completed without a notification [complete].
    ASSERT_TRUE(hsm.ServeDefaultRequests(dm, Rig::Answer(7)).ok());
    absl::StatusOr<uint64_t> got = hv.WaitForCompletion(vm, 0, absl::Seconds(5));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, 7u);
    EXPECT_EQ(hv.stats().notifications, profile == Profile::kAcrn ? 0u : 1u);
  }
}

// [acrn-vpci] Under `acrn` a disabled configuration cycle and an address
// read never reach the HSM; under `hardened` the HSM folds them.
TEST(AcrnProfileTest, VpciCompletesConfigAccessesBeforeTheHsm) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile, 1);
    const uint32_t disabled = 0x00002000;  // 00:04.0, enable bit clear
    rig.RunToComplete(0, PortWrite(kPciConfigAddressPort, 4, disabled));
    ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0).ok());
    const uint64_t inserted = rig.hv.stats().inserted;
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 0, PortRead(kPciConfigDataPort, 2), false)
            .ok());
    if (profile == Profile::kAcrn) {
      EXPECT_EQ(rig.hv.stats().inserted, inserted);  // no slot used
      EXPECT_EQ(rig.State(0), kStateFree);
    } else {
      EXPECT_EQ(rig.hv.stats().inserted, inserted + 1);
      rig.hsm.Dispatch();  // the HSM's cf8cfc rule answers it in place
    }
    absl::StatusOr<uint64_t> got =
        rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(5));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, 0xFFFFu);
    const auto handled = rig.hv.HandledInHypervisor(rig.vm).value();
    EXPECT_EQ(handled[0], profile == Profile::kAcrn ? 1u : 0u);
    EXPECT_EQ(rig.hv.stats().handled_in_hypervisor, handled[0]);  // the VM's sum
    EXPECT_EQ(rig.hsm.SlotCompletions(rig.vm).value()[0],
              profile == Profile::kAcrn ? 1u : 2u);
  }
}

}  // namespace
}  // namespace ioreq
