#include "core/harness/emulated_hypervisor.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/abi/slot_decode.h"
#include "core/harness/manual_rig.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

// Each vCPU counts its own requests (one shared counter would move between
// the vCPUs' CPUs on every request); stats() must still see every vCPU of
// every VM, and count a notification only for a request that was not
// polled.
TEST(EmulatedHypervisor, StatsCountTheRequestsOfEveryVcpuOfEveryVm) {
  testing::ManualRig rig(/*vcpus=*/3);
  const uint16_t second = rig.AddVm(/*vcpus=*/2).value();
  const ClientId first_client = rig.AddConstantClient("first", 7);
  ASSERT_TRUE(rig.hsm.AddRange(first_client, kTypePortIo, 0x100, 0x1FF).ok());
  const ClientId second_client =
      rig.hsm
          .CreateClient(second, "second",
                        [](IoAccess& access) {
                          access.value = 9;
                          return absl::OkStatus();
                        },
                        /*is_default=*/false)
          .value();
  ASSERT_TRUE(rig.hsm.AddRange(second_client, kTypePortIo, 0x100, 0x1FF).ok());

  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    for (uint32_t v = 0; v < 3; ++v) {
      ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, v, PortRead(0x100 + v, 1),
                                       /*polling=*/false)
                      .ok());
    }
    for (uint32_t v = 0; v < 2; ++v) {
      ASSERT_TRUE(rig.hv.InsertRequest(second, v, PortRead(0x100 + v, 1),
                                       /*polling=*/true)
                      .ok());
    }
    rig.hsm.Dispatch();
    ASSERT_TRUE(rig.hsm.ServeClient(first_client).ok());
    ASSERT_TRUE(rig.hsm.ServeClient(second_client).ok());
    for (uint32_t v = 0; v < 3; ++v) {
      EXPECT_EQ(rig.hv.WaitForCompletion(rig.vm, v, absl::Seconds(5)).value(),
                7u);
    }
    for (uint32_t v = 0; v < 2; ++v) {
      EXPECT_EQ(rig.hv.WaitForCompletion(second, v, absl::Seconds(5)).value(),
                9u);
    }
  }

  const HypervisorStats stats = rig.hv.stats();
  EXPECT_EQ(stats.inserted, 5u * kRounds);
  EXPECT_EQ(stats.completed, 5u * kRounds);
  EXPECT_EQ(stats.notifications, 3u * kRounds);  // the polled ones: none
}

}  // namespace
}  // namespace ioreq
