// The direct claimer's step on one slot, with the snapshot the test chooses:
// a slot completed and reused between a claimer's snapshot and its
// compare-exchange is given back to its real owner (found by a 10-minute
// soak; deterministic here).
#include "core/hsm/internal/direct_claimer.h"

#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/harness/manual_rig.h"
#include "core/hsm/hsm_test_peer.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace hsm_internal {
namespace {

using Claimer = DirectClaimer<EventfdDoorbell>;

TEST(DirectClaimer, SlotReusedUnderTheSnapshotGoesBackToItsOwner) {
  testing::ManualRig rig(/*vcpus=*/1, testing::ManualOptions(Topology::kDirect));
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);

  // The uart client looked at the slot while it held a UART read...
  IoRequest stale{};
  EncodeAccess(PortRead(0x3F8, 1), stale);
  // ...and by its compare-exchange the slot holds a 0xCF8 write, which only
  // the default client may fold.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortWrite(0xCF8, 4, 0x80001800),
                                   /*polling=*/true).ok());

  HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
  auto* claimer = dynamic_cast<Claimer*>(&HsmTestPeer::Engine(rig.hsm));
  ASSERT_NE(claimer, nullptr);
  VmState& vm = **ctx.registry.FindVm(rig.vm);
  ClientState& uart_client = **ctx.registry.FindClient(uart);
  ClientState& dm_client = **ctx.registry.FindClient(dm);

  std::vector<EventfdDoorbell*> wakes;
  {
    auto scan = ctx.gate.SharedPass();
    EXPECT_EQ(claimer->ClaimSlot(vm, uart_client, 0, stale, wakes),
              ClaimOutcome::kGivenBack);
  }
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_EQ(*rig.hsm.PendingBitmap(uart), 0u);
  EXPECT_EQ(rig.hsm.stats().rerouted, 1u);
  ASSERT_EQ(wakes.size(), 1u);
  EXPECT_EQ(wakes[0], &BellOf<EventfdDoorbell>(dm_client));
  EXPECT_EQ(vm.pci_config_address, 0u);  // the uart client did not fold

  // The owner claims it the normal way: the latch moves.
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [](IoAccess&) {
    ADD_FAILURE() << "a 0xCF8 write is answered in place, not emulated";
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(vm.pci_config_address, 0x80001800u);
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0xCF8, 4), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)),
            0x80001800u);
}

TEST(DirectClaimer, SnapshotOfAnotherOwnerIsNotClaimed) {
  testing::ManualRig rig(/*vcpus=*/1, testing::ManualOptions(Topology::kDirect));
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());

  HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
  auto* claimer = dynamic_cast<Claimer*>(&HsmTestPeer::Engine(rig.hsm));
  ASSERT_NE(claimer, nullptr);
  VmState& vm = **ctx.registry.FindVm(rig.vm);
  std::vector<EventfdDoorbell*> wakes;
  auto scan = ctx.gate.SharedPass();
  IoRequest snapshot = RouteSnapshot(rig.Slot(0));
  EXPECT_EQ(claimer->ClaimSlot(vm, **ctx.registry.FindClient(uart), 0,
                               snapshot, wakes),
            ClaimOutcome::kNotMine);
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_TRUE(wakes.empty());
}

// [find-client] in steady state, the upcall's look routes from the memo
// without clients_mu: a vCPU's upcall rings its owner while another thread
// holds the lock (a range edit, a claim), instead of queueing behind it.
TEST(DirectClaimer, AnUpcallInSteadyStateRingsItsOwnerWithoutTheClientsLock) {
  HsmOptions options = testing::ManualOptions(Topology::kDirect);
  options.check_range_index = false;  // checking looks up, under the lock
  testing::ManualRig rig(/*vcpus=*/2, options);
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
  VmState& vm = **ctx.registry.FindVm(rig.vm);
  EventfdDoorbell& bell =
      BellOf<EventfdDoorbell>(**ctx.registry.FindClient(uart));

  // The first access to the port is looked up (and remembered).
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  ASSERT_TRUE(bell.WaitFor(absl::ZeroDuration()));  // rung; consumed
  ASSERT_FALSE(bell.Peek());

  // The next one, on the other vCPU, while the lock is held elsewhere.
  std::unique_lock<std::mutex> held(vm.clients_mu);
  std::future<absl::Status> upcall = std::async(std::launch::async, [&] {
    return rig.hv.InsertRequest(rig.vm, 1, PortRead(0x3F8, 1), true);
  });
  const bool returned =
      upcall.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  held.unlock();  // lets a blocked upcall finish either way
  EXPECT_TRUE(returned) << "the upcall waited for clients_mu";
  EXPECT_TRUE(upcall.get().ok());
  EXPECT_TRUE(bell.Peek()) << "the owner was not rung";
  EXPECT_EQ(rig.State(1), kStatePending);  // rung, not claimed
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
