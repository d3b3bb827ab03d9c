// HsmOptions::carry_wakes with EmulatedHypervisor::set_carry_wakes() (System
// sets both): every access is answered with its own value in both
// topologies and under every strategy, and with `uring` the wakes ride in
// the sleeps that follow them.
#include <atomic>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/harness/system.h"
#include "core/notify/strategy.h"
#include "core/notify/syscall_tally.h"
#include "core/notify/uring_doorbell.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace ioreq {
namespace {

constexpr uint64_t kBase = 0xE000'0000;
constexpr uint64_t kSize = 0x1000;

// A client that answers a read with its address.
ClientId AddEchoClient(System& system, uint16_t vm) {
  const ClientId c = *system.hsm.CreateClient(
      vm, "echo",
      [](IoAccess& access) {
        access.value = access.address & 0xFFFF'FFFF;
        return absl::OkStatus();
      },
      false);
  EXPECT_TRUE(system.hsm.AddRange(c, kTypeMmio, kBase, kBase + kSize - 1).ok());
  return c;
}

HsmOptions Carrying(Topology topology) {
  HsmOptions options;
  options.topology = topology;
  options.carry_wakes = true;
  return options;
}

class CarryWakesTest
    : public ::testing::TestWithParam<std::tuple<Strategy, Topology>> {};

TEST_P(CarryWakesTest, EveryAccessIsAnsweredWithItsOwnValue) {
  const auto [strategy, topology] = GetParam();
  IOREQ_SKIP_UNLESS_OFFERED(strategy);
  constexpr uint32_t kVcpus = 4;
  constexpr int kAccesses = 300;
  System system(strategy, Carrying(topology));
  ASSERT_TRUE(system.hv.carry_wakes());
  const uint16_t vm = *system.AddVm(kVcpus);
  AddEchoClient(system, vm);
  std::atomic<int> wrong{0};
  std::vector<std::thread> vcpus;
  for (uint32_t v = 0; v < kVcpus; ++v) {
    vcpus.emplace_back([&, v] {
      for (int i = 0; i < kAccesses; ++i) {
        const uint64_t address = kBase + ((v * 64 + i) % (kSize / 4)) * 4;
        absl::StatusOr<uint64_t> got = system.hv.EmulateAccess(
            vm, v, MmioRead(address, 4), /*polling=*/false, absl::Seconds(30));
        if (!got.ok() || *got != (address & 0xFFFF'FFFF)) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& t : vcpus) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(system.hv.stats().completed, uint64_t{kVcpus} * kAccesses);
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategiesBothTopologies, CarryWakesTest,
    ::testing::Combine(::testing::Values(Strategy::kFutex, Strategy::kEventfd,
                                         Strategy::kUring,
                                         Strategy::kUringEventfd,
                                         Strategy::kAdaptive),
                       ::testing::Values(Topology::kKernel, Topology::kDirect)),
    [](const auto& info) {
      return absl::StrCat(StrategyName(std::get<0>(info.param)), "_",
                          TopologyName(std::get<1>(info.param)));
    });

// One vCPU on one CPU, the HSM's threads on the other: each side sleeps
// between requests, so each sleep can carry the wake before it.
SyscallTally CallsOfCrossCpuRoundTrips(Topology topology, bool carry,
                                       int requests) {
  const std::vector<int> cpus = AllowedCpus();
  HsmOptions options = Carrying(topology);
  options.carry_wakes = carry;
  options.thread_cpus = {cpus[1]};
  System system(Strategy::kUring, options);
  const uint16_t vm = *system.AddVm(1);
  AddEchoClient(system, vm);
  SyscallTally used;
  std::thread vcpu([&] {
    PinCurrentThread({cpus[0]}).IgnoreError();
    for (int i = 0; i < 20; ++i) {  // every thread asleep once, rings made
      system.hv.EmulateAccess(vm, 0, MmioRead(kBase, 4), false).IgnoreError();
    }
    const SyscallTally before = ProcessSyscalls();
    for (int i = 0; i < requests; ++i) {
      system.hv.EmulateAccess(vm, 0, MmioRead(kBase, 4), false).IgnoreError();
    }
    used = ProcessSyscalls() - before;
  });
  vcpu.join();
  return used;
}

TEST(CarryWakes, WithUringEachSleepCarriesTheWakeBeforeIt) {
  if (!ProbeUring().ok()) GTEST_SKIP() << ProbeUring().message();
  if (AllowedCpus().size() < 2) GTEST_SKIP() << "needs two CPUs";
  constexpr int kRequests = 200;
  for (Topology topology : {Topology::kDirect, Topology::kKernel}) {
    SCOPED_TRACE(TopologyName(topology));
    const SyscallTally off = CallsOfCrossCpuRoundTrips(topology, false, kRequests);
    const SyscallTally on = CallsOfCrossCpuRoundTrips(topology, true, kRequests);
    EXPECT_EQ(off.carried, 0u);
    // Most sleeps carried a wake (each side sleeps once a request)...
    EXPECT_GT(on.carried, on.sleeps / 2);
    // ...so the round trips made fewer calls: about half (docs/performance.md).
    EXPECT_LT(on.calls() * 4, off.calls() * 3)
        << "on: " << on.calls() << " calls, off: " << off.calls();
  }
}

}  // namespace
}  // namespace ioreq
