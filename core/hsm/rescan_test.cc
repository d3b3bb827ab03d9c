// [rescan]: a lost notification costs an interval, not a hung vCPU.
//
// Each test loses one kind of notification on purpose (the upcall, or the
// completion notification) and checks the request still completes, and
// that with the rescan turned off (the kernel's contract) it does not.
#include <atomic>
#include <thread>

#include "core/harness/devices/mmio_bar.h"
#include "core/hsm/hsm.h"
#include "core/harness/system.h"
#include "core/abi/slot_state.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

constexpr absl::Duration kRescan = absl::Milliseconds(5);
constexpr absl::Duration kPatience = absl::Seconds(5);
constexpr absl::Duration kShort = absl::Milliseconds(150);

// Forwards every call to the hypervisor except NotifyRequestFinish(), which
// it swallows while `drop` is set.
class LosingCalls : public HypervisorCalls {
 public:
  explicit LosingCalls(HypervisorCalls* hv) : hv_(hv) {}
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override {
    if (drop.load()) {
      ++dropped;
      return absl::OkStatus();
    }
    return hv_->NotifyRequestFinish(vmid, vcpu);
  }
  absl::Status PauseVm(uint16_t vmid) override { return hv_->PauseVm(vmid); }
  absl::Status ResetVm(uint16_t vmid) override { return hv_->ResetVm(vmid); }
  absl::Status ResumeVm(uint16_t vmid) override { return hv_->ResumeVm(vmid); }

  std::atomic<bool> drop{false};
  std::atomic<int> dropped{0};

 private:
  HypervisorCalls* const hv_;
};

// One VM with one MMIO BAR client, the HSM's threads running.
struct Rig {
  Rig(Topology topology, absl::Duration hsm_rescan,
      absl::Duration completion_rescan)
      : hv(Strategy::kEventfd, completion_rescan),
        calls(&hv),
        hsm(&calls, Options(topology, hsm_rescan)) {
    vm = CreateWiredVm(hv, hsm, 2).value();
    bar_client = hsm.CreateClient(vm, "bar", bar.Handler(), false).value();
    EXPECT_TRUE(hsm.AddRange(bar_client, kTypeMmio, bar.base(), bar.last()).ok());
    // Completes only after the vCPU surely sleeps, however slow the build.
    const ClientId slow = hsm.CreateClient(vm, "slow", [](IoAccess& access) {
      absl::SleepFor(absl::Milliseconds(30));
      access.value = 0x5A;
      return absl::OkStatus();
    }, false).value();
    EXPECT_TRUE(hsm.AddRange(slow, kTypeMmio, kSlow, kSlow + 0xFFF).ok());
  }
  static constexpr uint64_t kSlow = 0xF0000000;
  static HsmOptions Options(Topology topology, absl::Duration rescan) {
    HsmOptions o;
    o.topology = topology;
    o.rescan_interval = rescan;
    return o;
  }

  EmulatedHypervisor hv;
  LosingCalls calls;
  MmioBar bar{0xE0000000, 0x1000};
  Hsm hsm;
  uint16_t vm = 0;
  ClientId bar_client = 0;
};

class LostUpcall : public ::testing::TestWithParam<Topology> {};

TEST_P(LostUpcall, RequestIsFoundByTheRescan) {
  Rig rig(GetParam(), kRescan, kRescan);
  // No upcall handler: every upcall is lost.
  ASSERT_TRUE(rig.hv.EmulateAccess(rig.vm, 0, MmioWrite(0xE0000010, 4, 0x1234),
                                   false, kPatience).ok());
  absl::StatusOr<uint64_t> read =
      rig.hv.EmulateAccess(rig.vm, 1, MmioRead(0xE0000010, 4), false, kPatience);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, 0x1234u);
  // A direct client that happens to be awake (from serving, or from the
  // ring AddRange() gave it) claims without a rescan; one that idled past
  // its interval can only find the request by rescanning. A few tries make
  // the coincidence negligible.
  for (int i = 0; i < 20 && rig.hsm.stats().rescued_by_rescan == 0; ++i) {
    absl::SleepFor(4 * kRescan);
    ASSERT_TRUE(rig.hv.EmulateAccess(rig.vm, 0, MmioRead(0xE0000010, 4), false,
                                     kPatience).ok());
  }
  EXPECT_GE(rig.hsm.stats().rescans, 1u);
  EXPECT_GE(rig.hsm.stats().rescued_by_rescan, 1u);
}

// The kernel topology only: there the dispatcher runs on upcalls alone, so
// the outcome is certain; a direct client may be awake by chance (from the
// ring that AddRange() gave it) and claim the request without any upcall.
TEST(LostUpcallKernel, WithoutRescanTheRequestStaysPending) {
  Rig rig(Topology::kKernel, absl::InfiniteDuration(), kRescan);
  absl::StatusOr<uint64_t> read =
      rig.hv.EmulateAccess(rig.vm, 0, MmioRead(0xE0000010, 4), false, kShort);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(LoadStateAcquire(rig.hv.shared_page(rig.vm)->slots[0]),
            kStatePending);
  EXPECT_EQ(rig.hsm.stats().rescans, 0u);
  // The vCPU gives up; the slot is reset with the VM.
  ASSERT_TRUE(rig.hv.AbandonRequest(rig.vm, 0).ok());
}

INSTANTIATE_TEST_SUITE_P(Topologies, LostUpcall,
                         ::testing::Values(Topology::kKernel, Topology::kDirect),
                         [](const auto& info) {
                           return std::string(TopologyName(info.param));
                         });

TEST(LostCompletionNotification, VcpuFindsCompleteByRescan) {
  Rig rig(Topology::kKernel, kRescan, kRescan);
  rig.hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { rig.hsm.Upcall(vm, vcpu); });
  rig.calls.drop = true;
  absl::StatusOr<uint64_t> got =
      rig.hv.EmulateAccess(rig.vm, 0, MmioRead(Rig::kSlow, 1), false, kPatience);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0x5Au);
  EXPECT_EQ(rig.calls.dropped.load(), 1);
  EXPECT_EQ(rig.hv.stats().rescued_by_rescan, 1u);
  EXPECT_EQ(rig.hv.stats().completed, 1u);
}

TEST(LostCompletionNotification, WithoutRescanTheVcpuWaitsItsWholeTimeout) {
  Rig rig(Topology::kKernel, kRescan, absl::InfiniteDuration());
  rig.hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { rig.hsm.Upcall(vm, vcpu); });
  rig.calls.drop = true;
  const absl::Time start = absl::Now();
  absl::StatusOr<uint64_t> got =
      rig.hv.EmulateAccess(rig.vm, 0, MmioRead(Rig::kSlow, 1), false, kShort);
  // The request completed after 30 ms, but the vCPU only looks again at its
  // deadline: with an infinite timeout it would never have.
  EXPECT_GE(absl::Now() - start, kShort);
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(rig.calls.dropped.load(), 1);
  EXPECT_EQ(rig.hv.stats().rescued_by_rescan, 0u);
}

TEST(AbandonRequest, LetsAWedgedVmBeReset) {
  Rig rig(Topology::kKernel, absl::InfiniteDuration(), kRescan);
  // Lost upcall, no rescan: the request wedges.
  ASSERT_FALSE(rig.hv.EmulateAccess(rig.vm, 1, MmioRead(0xE0000000, 1), false,
                                    kShort).ok());
  ASSERT_TRUE(rig.hv.PauseVm(rig.vm).ok());
  // Still in flight: the reset waits for it, then gives up.
  EXPECT_EQ(rig.hv.ResetVm(rig.vm).code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(rig.hv.AbandonRequest(rig.vm, 1).ok());
  EXPECT_EQ(rig.hv.AbandonRequest(rig.vm, 1).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(rig.hv.ResetVm(rig.vm).ok());
  ASSERT_TRUE(rig.hv.ResumeVm(rig.vm).ok());
  EXPECT_EQ(LoadStateAcquire(rig.hv.shared_page(rig.vm)->slots[1]), kStateFree);
  EXPECT_EQ(rig.hv.stats().abandoned, 1u);
}

TEST(SlotCompletions, CountsEveryCompletionPerSlot) {
  Rig rig(Topology::kKernel, kRescan, kRescan);
  rig.hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { rig.hsm.Upcall(vm, vcpu); });
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rig.hv.EmulateAccess(rig.vm, 1, MmioRead(0xE0000000, 1), false,
                                     kPatience).ok());
  }
  ASSERT_TRUE(rig.hv.EmulateAccess(rig.vm, 0, MmioRead(0xE0000000, 1), false,
                                   kPatience).ok());
  absl::StatusOr<std::array<uint64_t, kIoRequestMax>> counts =
      rig.hsm.SlotCompletions(rig.vm);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[0], 1u);
  EXPECT_EQ((*counts)[1], 3u);
  EXPECT_EQ((*counts)[2], 0u);
  EXPECT_EQ(rig.hsm.SlotCompletions(999).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ioreq
