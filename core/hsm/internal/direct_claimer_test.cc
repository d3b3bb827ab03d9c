// The direct claimer's step on one slot, with the snapshot the test chooses:
// a slot completed and reused between a claimer's snapshot and its
// compare-exchange is given back to its real owner (found by a 10-minute
// soak; deterministic here).
#include "core/hsm/internal/direct_claimer.h"

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
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

Claimer& ClaimerOf(testing::ManualRig& rig) {
  return dynamic_cast<Claimer&>(HsmTestPeer::Engine(rig.hsm));
}

// Client `client`'s claim step on slot `vcpu`, routed on `snapshot`, in a
// shared pass as a client's scan makes it.
ClaimOutcome ClaimAs(testing::ManualRig& rig, ClientId client, uint32_t vcpu,
                     IoRequest& snapshot, std::vector<EventfdDoorbell*>& wakes) {
  HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
  auto scan = ctx.gate.SharedPass();
  return ClaimerOf(rig).ClaimSlot(**ctx.registry.FindVm(rig.vm),
                                  **ctx.registry.FindClient(client), vcpu,
                                  snapshot, wakes);
}

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
  VmState& vm = **ctx.registry.FindVm(rig.vm);
  ClientState& dm_client = **ctx.registry.FindClient(dm);

  std::vector<EventfdDoorbell*> wakes;
  EXPECT_EQ(ClaimAs(rig, uart, 0, stale, wakes), ClaimOutcome::kGivenBack);
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

// Reused under the snapshot for a request no client takes, in a VM without
// a default client: the claim took the slot, so it gives it back PENDING
// (counted in no_client) for a client that comes later, on the locked path
// and on the steady state's path alike.
TEST(DirectClaimer, SlotReusedUnderTheSnapshotForNoClientIsGivenBackPending) {
  for (bool check_index : {true, false}) {
    SCOPED_TRACE(check_index ? "locked" : "steady state");
    HsmOptions options = testing::ManualOptions(Topology::kDirect);
    options.check_range_index = check_index;
    testing::ManualRig rig(/*vcpus=*/1, options);
    int uart_calls = 0;
    const ClientId uart = rig.AddConstantClient("uart", 0x60, &uart_calls);
    ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());

    IoRequest stale{};
    EncodeAccess(PortRead(0x3F8, 1), stale);
    ASSERT_TRUE(
        rig.hv.InsertRequest(rig.vm, 0, PortRead(0x70, 1), /*polling=*/true)
            .ok());

    std::vector<EventfdDoorbell*> wakes;
    EXPECT_EQ(ClaimAs(rig, uart, 0, stale, wakes), ClaimOutcome::kGivenBack);
    EXPECT_EQ(rig.State(0), kStatePending);
    EXPECT_EQ(*rig.hsm.PendingBitmap(uart), 0u);
    EXPECT_EQ(rig.hsm.stats().no_client, 1u);
    EXPECT_EQ(rig.hsm.stats().rerouted, 0u);
    EXPECT_EQ(rig.hsm.stats().completed, 0u);
    EXPECT_TRUE(wakes.empty());

    // A device model that comes later emulates it, once.
    const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
    int dm_calls = 0;
    ASSERT_TRUE(rig.hsm.ServeDefaultRequests(dm, [&dm_calls](IoAccess& access) {
      ++dm_calls;
      EXPECT_EQ(access.address, 0x70u);
      access.value = 0x5A;
      return absl::OkStatus();
    }).ok());
    EXPECT_EQ(dm_calls, 1);
    EXPECT_EQ(uart_calls, 0);
    EXPECT_EQ(*rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)), 0x5Au);
  }
}

TEST(DirectClaimer, SnapshotOfAnotherOwnerIsNotClaimed) {
  testing::ManualRig rig(/*vcpus=*/1, testing::ManualOptions(Topology::kDirect));
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());

  std::vector<EventfdDoorbell*> wakes;
  IoRequest snapshot = RouteSnapshot(rig.Slot(0));
  EXPECT_EQ(ClaimAs(rig, uart, 0, snapshot, wakes), ClaimOutcome::kNotMine);
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_TRUE(wakes.empty());
}

// One VM of two vCPUs, a UART client with its range and a device model,
// routed as in production (a check of the index looks up, under the lock).
struct SteadyState {
  SteadyState() : rig(/*vcpus=*/2, Options()) {
    uart = rig.AddConstantClient("uart", 0x60);
    EXPECT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
    dm = rig.hsm.CreateClient(rig.vm, "dm", nullptr, true).value();
  }
  static HsmOptions Options() {
    HsmOptions options = testing::ManualOptions(Topology::kDirect);
    options.check_range_index = false;
    return options;
  }
  HsmContext& ctx() { return HsmTestPeer::Context(rig.hsm); }
  VmState& vm() { return **ctx().registry.FindVm(rig.vm); }
  ClientState& uart_client() { return **ctx().registry.FindClient(uart); }

  testing::ManualRig rig;
  ClientId uart = 0;
  ClientId dm = 0;
};

// Runs `step` on another thread while this one holds the VM's clients_mu:
// true if it finished within 5 s. The lock is let go either way, so a step
// that waited for it finishes before this returns.
template <typename Step>
bool FinishesWhileTheClientsLockIsHeld(VmState& vm, Step step) {
  std::unique_lock<std::mutex> held(vm.clients_mu);
  std::future<void> done = std::async(std::launch::async, step);
  const bool returned =
      done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  held.unlock();
  done.get();
  return returned;
}

// [find-client] in steady state, the upcall's look routes from the memo
// without clients_mu: a vCPU's upcall rings its owner while another thread
// holds the lock (a range edit, a claim), instead of queueing behind it.
TEST(DirectClaimer, AnUpcallInSteadyStateRingsItsOwnerWithoutTheClientsLock) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  EventfdDoorbell& bell = BellOf<EventfdDoorbell>(s.uart_client());

  // The first access to the port is looked up (and remembered).
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  ASSERT_TRUE(bell.WaitFor(absl::ZeroDuration()));  // rung; consumed
  ASSERT_FALSE(bell.Peek());

  // The next one, on the other vCPU, while the lock is held elsewhere.
  absl::Status upcall;
  EXPECT_TRUE(FinishesWhileTheClientsLockIsHeld(s.vm(), [&] {
    upcall = rig.hv.InsertRequest(rig.vm, 1, PortRead(0x3F8, 1), true);
  })) << "the upcall waited for clients_mu";
  EXPECT_TRUE(upcall.ok());
  EXPECT_TRUE(bell.Peek()) << "the owner was not rung";
  EXPECT_EQ(rig.State(1), kStatePending);  // rung, not claimed
}

// [kernel-handled] A claimer whose snapshot is stale (its request went to
// another client after a routing change, and the slot now holds one the
// default client took) must leave the slot as it is: marking it the
// kernel's would hide the device model's request from ACRN's device model
// for good. Checked on the locked path (the index checked) and on the path
// without the lock, which finds the slot unmarked and goes to the locked one.
TEST(DirectClaimer, AStaleSnapshotNeverMarksARequestTheDefaultClientHolds) {
  for (const bool check_index : {true, false}) {
    SCOPED_TRACE(check_index ? "index checked" : "as in production");
    HsmOptions options = testing::ManualOptions(Topology::kDirect);
    options.check_range_index = check_index;
    testing::ManualRig rig(/*vcpus=*/1, options);
    const ClientId uart = rig.AddConstantClient("uart", 0x60);
    ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
    const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);

    // The uart client's old look at the slot, a UART read...
    IoRequest stale{};
    EncodeAccess(PortRead(0x3F8, 1), stale);
    // ...and since then the slot has come to hold a request the device
    // model took.
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
    rig.hsm.Dispatch();
    ASSERT_EQ(rig.State(0), kStateProcessing);
    ASSERT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
    ASSERT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u);

    std::vector<EventfdDoorbell*> wakes;
    EXPECT_EQ(ClaimAs(rig, uart, 0, stale, wakes), ClaimOutcome::kLost);
    EXPECT_EQ(rig.State(0), kStateProcessing);
    EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u)
        << "the device model's request was marked the kernel's";
    EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);
    EXPECT_TRUE(wakes.empty());
  }
}

// [kernel-handled] The default client's hold ends with the slot marked the
// kernel's again, so that a claim of the slot's next request needs no mark;
// a page the hypervisor never marked (ACRN's never writes the field) is
// marked when the HSM is given it, before any claim can see it.
TEST(DirectClaimer, TheDefaultClientsHoldEndsWithTheSlotMarkedTheKernels) {
  HsmOptions options = testing::ManualOptions(Topology::kDirect);
  options.check_range_index = false;
  testing::ManualRig rig(/*vcpus=*/1, options, Profile::kAcrn);
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);  // marked with the page

  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u);  // the device model's
  ASSERT_TRUE(rig.hsm.NotifyRequestFinish(rig.vm, 0).ok());
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());

  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(uart), 1u);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  (void)dm;
}

// Client `client`'s claim of slot 1, made while this thread holds the VM's
// clients_mu (on another thread, given up after 5 s): the outcome, or
// nothing if the claim waited for the lock.
std::optional<ClaimOutcome> ClaimWhileTheClientsLockIsHeld(SteadyState& s,
                                                           ClientId client) {
  ClaimOutcome outcome = ClaimOutcome::kNotMine;
  if (!FinishesWhileTheClientsLockIsHeld(s.vm(), [&] {
        std::vector<EventfdDoorbell*> wakes;
        IoRequest snapshot = RouteSnapshot(s.rig.Slot(1));
        outcome = ClaimAs(s.rig, client, 1, snapshot, wakes);
      })) {
    return std::nullopt;
  }
  return outcome;
}

// [find-client] In steady state an in-process client claims its request
// without clients_mu (the memo routes it; the slot is already marked the
// kernel's): a claim goes on while another thread holds the lock.
TEST(DirectClaimer, AClaimInSteadyStateTakesItsRequestWithoutTheClientsLock) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  // The upcall looks the port up (and remembers it).
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x3F8, 1), true).ok());

  EXPECT_EQ(ClaimWhileTheClientsLockIsHeld(s, s.uart), ClaimOutcome::kTaken)
      << "the claim waited for clients_mu, or did not take the request";
  EXPECT_EQ(rig.State(1), kStateProcessing);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(1)), 1u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(s.uart), 2u);
}

// [kernel-handled] [find-client] The default client, too, claims its
// request in steady state without clients_mu, and unmarks it (0) for the
// device model after its pending bit.
TEST(DirectClaimer, TheDefaultClientClaimsInSteadyStateWithoutTheClientsLock) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  // The upcall looks the port up (and remembers it: the default client's).
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 1, PortRead(0x60, 1), true).ok());

  EXPECT_EQ(ClaimWhileTheClientsLockIsHeld(s, s.dm), ClaimOutcome::kTaken)
      << "the claim waited for clients_mu, or did not take the request";
  EXPECT_EQ(rig.State(1), kStateProcessing);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(1)), 0u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(s.dm), 2u);
}

// [kernel-handled] A PENDING slot not marked the kernel's (here a hostile
// hypervisor wrote 0) is not marked by another client's shared scan, whose
// mark could land after the default client had claimed and unmarked the
// slot: it is left to the default client, which is rung, marks it on its own
// scan and rings the owner, which then claims it.
TEST(DirectClaimer, AnUnmarkedSlotIsLeftToTheDefaultClientWhichMarksIt) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  StoreKernelHandledRelaxed(rig.Slot(0), 0);  // hostile

  std::vector<EventfdDoorbell*> wakes;
  IoRequest snapshot = RouteSnapshot(rig.Slot(0));
  EXPECT_EQ(ClaimAs(rig, s.uart, 0, snapshot, wakes),
            ClaimOutcome::kLeftToDefault);
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u);
  EXPECT_EQ(rig.hsm.stats().left_to_default, 1u);
  HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
  ASSERT_EQ(wakes.size(), 1u);
  EXPECT_EQ(wakes[0], &BellOf<EventfdDoorbell>(**ctx.registry.FindClient(s.dm)));

  wakes.clear();
  EXPECT_EQ(ClaimAs(rig, s.dm, 0, snapshot, wakes), ClaimOutcome::kNotMine);
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  ASSERT_EQ(wakes.size(), 1u);
  EXPECT_EQ(wakes[0], &BellOf<EventfdDoorbell>(s.uart_client()));

  wakes.clear();
  EXPECT_EQ(ClaimAs(rig, s.uart, 0, snapshot, wakes), ClaimOutcome::kTaken);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  EXPECT_EQ(*rig.hsm.PendingBitmap(s.uart), 1u);
}

// [kernel-handled] In a VM without a default client nobody unmarks, so the
// owner's claim marks an unmarked slot itself, under clients_mu.
TEST(DirectClaimer, WithoutADefaultClientTheOwnersClaimMarksTheSlot) {
  HsmOptions options = testing::ManualOptions(Topology::kDirect);
  options.check_range_index = false;
  testing::ManualRig rig(/*vcpus=*/1, options);
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  StoreKernelHandledRelaxed(rig.Slot(0), 0);  // hostile

  std::vector<EventfdDoorbell*> wakes;
  IoRequest snapshot = RouteSnapshot(rig.Slot(0));
  EXPECT_EQ(ClaimAs(rig, uart, 0, snapshot, wakes), ClaimOutcome::kTaken);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  EXPECT_EQ(rig.hsm.stats().left_to_default, 0u);
}

// A client that records every access it is handed and fails the first
// call (the request stays held, as after a handler error), then answers
// reads with 0x60.
struct RecordingClient {
  explicit RecordingClient(SteadyState& s) {
    id = s.rig.hsm
             .CreateClient(s.rig.vm, "recorder",
                           [this](IoAccess& access) {
                             seen.push_back(access);
                             if (seen.size() == 1) {
                               return absl::UnavailableError("first try");
                             }
                             if (access.direction == kDirRead) access.value = 0x60;
                             return absl::OkStatus();
                           },
                           /*is_default=*/false)
             .value();
    EXPECT_TRUE(s.rig.hsm.AddRange(id, kTypePortIo, 0x2F8, 0x2FF).ok());
  }
  ClientId id = 0;
  std::vector<IoAccess> seen;
};

// A handler gets a checked copy: a client's own claim copies the slot and
// checks it once, and its serving hands the handler the access decoded
// then, so a slot the hypervisor rewrites while the client holds it does
// not reach the handler, and is not checked a second time.
TEST(DirectClaimer, TheClientsOwnClaimIsServedFromTheCopyItChecked) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  RecordingClient client(s);
  // The upcall looks the port up (and remembers it): the claim is lock-free.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x2F8, 1), false).ok());
  EXPECT_FALSE(rig.hsm.ServeClient(client.id).ok());  // claimed, first try fails
  ASSERT_EQ(rig.State(0), kStateProcessing);
  ASSERT_EQ(client.seen.size(), 1u);

  rig.Slot(0).reqs.pio_request.size = 3;  // hostile: not 1, 2 or 4
  const uint64_t rejected = rig.hsm.stats().rejected_invalid;
  ASSERT_TRUE(rig.hsm.ServeClient(client.id).ok());

  ASSERT_EQ(client.seen.size(), 2u);
  EXPECT_EQ(client.seen[1].address, 0x2F8u);
  EXPECT_EQ(client.seen[1].size, 1u);  // as claimed, not as rewritten
  EXPECT_EQ(rig.hsm.stats().rejected_invalid, rejected);
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(RequestValue(rig.Slot(0)) & 0xFF, 0x60u);
}

// What the client's own claim kept stands for its claim only: when another
// thread hands the client a request for the same vCPU (here a pass for
// every client, after a hostile hypervisor recycled the held slot), the
// serving copies and checks the slot as it is now.
TEST(DirectClaimer, AnotherThreadsDeliveryIsCheckedAgainNotServedFromTheOwnClaim) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  RecordingClient client(s);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x2F8, 1), false).ok());
  EXPECT_FALSE(rig.hsm.ServeClient(client.id).ok());  // claimed, kept, held
  ASSERT_EQ(rig.State(0), kStateProcessing);

  // The hypervisor reuses the slot it does not own: a write, PENDING again.
  EncodeAccess(PortWrite(0x2F8, 1, 0x5A), rig.Slot(0));
  StoreStateRelease(rig.Slot(0), kStatePending);
  rig.hsm.Dispatch();  // claimed for the client by this thread, not its own
  ASSERT_EQ(rig.State(0), kStateProcessing);
  ASSERT_TRUE(rig.hsm.ServeClient(client.id).ok());

  ASSERT_EQ(client.seen.size(), 2u);
  EXPECT_EQ(client.seen[1].direction, kDirWrite);
  EXPECT_EQ(client.seen[1].value, 0x5Au);
  EXPECT_EQ(rig.State(0), kStateComplete);
}

// The default client's own claim, too, is served from the copy it checked:
// its serving neither copies nor checks the slot again (nor takes the lock
// before the finish), so a slot the hypervisor rewrites while the device
// model holds it does not reach the handler.
TEST(DirectClaimer, TheDefaultClientsOwnClaimIsServedFromTheCopyItChecked) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  ASSERT_EQ(*rig.hsm.WaitForRequests(s.dm), 1u);  // claimed on this thread
  ASSERT_EQ(rig.State(0), kStateProcessing);

  rig.Slot(0).reqs.pio_request.size = 3;  // hostile: not 1, 2 or 4
  const uint64_t rejected = rig.hsm.stats().rejected_invalid;
  std::vector<IoAccess> seen;
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(s.dm, [&](IoAccess& a) {
    seen.push_back(a);
    a.value = 0x77;
    return absl::OkStatus();
  }).ok());

  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].address, 0x60u);
  EXPECT_EQ(seen[0].size, 1u);  // as claimed, not as rewritten
  EXPECT_EQ(rig.hsm.stats().rejected_invalid, rejected);
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(RequestValue(rig.Slot(0)) & 0xFF, 0x77u);
}

// A request a destroyed client held is handed to the default client by
// another thread, which counts in its foreign_deliveries: the default
// client's serving copies and checks the slot as it is now, and never serves
// what an earlier claim of its own kept for the same vCPU (here one a clear
// answered before the device model served it).
TEST(DirectClaimer, AHandedOverRequestIsNotServedFromAnOlderOwnClaim) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  RecordingClient client(s);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), false).ok());
  ASSERT_EQ(*rig.hsm.WaitForRequests(s.dm), 1u);  // claimed, kept
  ASSERT_TRUE(rig.hsm.ClearRequests(rig.vm).ok());  // answered unserved
  ASSERT_EQ(*rig.hsm.PendingBitmap(s.dm), 0u);
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());

  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x2F8, 1), false).ok());
  EXPECT_FALSE(rig.hsm.ServeClient(client.id).ok());  // claimed, held
  ASSERT_TRUE(rig.hsm.DestroyClient(client.id).ok());  // handed over
  ASSERT_EQ(*rig.hsm.PendingBitmap(s.dm), 1u);

  std::vector<IoAccess> seen;
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(s.dm, [&](IoAccess& a) {
    seen.push_back(a);
    a.value = 0x33;
    return absl::OkStatus();
  }).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].address, 0x2F8u);
  EXPECT_EQ(rig.State(0), kStateComplete);
}

// Two in-process clients of one VM of two vCPUs, their bells consumed.
struct TwoClients {
  TwoClients() : rig(/*vcpus=*/2, testing::ManualOptions(Topology::kDirect)) {
    // `b` last: a pass takes the newest client first (Registry::Attach()),
    // so `b` looks at `a`'s request before `a` claims it.
    a = rig.AddConstantClient("a", 0x0A);
    b = rig.AddConstantClient("b", 0x0B);
    EXPECT_TRUE(rig.hsm.AddRange(a, kTypePortIo, 0x60, 0x6F).ok());
    EXPECT_TRUE(rig.hsm.AddRange(b, kTypePortIo, 0x70, 0x7F).ok());
    Consume();
  }
  EventfdDoorbell& Bell(ClientId c) {
    return BellOf<EventfdDoorbell>(
        **HsmTestPeer::Context(rig.hsm).registry.FindClient(c));
  }
  void Consume() {
    for (ClientId c : {a, b}) Bell(c).WaitFor(absl::ZeroDuration());
  }

  testing::ManualRig rig;
  ClientId a = 0;
  ClientId b = 0;
};

// [dispatch] An upcall that names a vCPU rings only the owner of that
// vCPU's PENDING request; one that names no vCPU of the VM (kAnyVcpu, or
// vcpu_num itself) rings every client; one for a slot that holds no
// PENDING request (a posted write's) rings nobody.
TEST(DirectClaimer, AnUpcallRingsTheOwnerOrEveryClientOrNobody) {
  TwoClients s;
  ASSERT_TRUE(
      s.rig.hv.InsertRequest(s.rig.vm, 0, PortRead(0x60, 1), true).ok());
  EXPECT_TRUE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
  for (uint32_t vcpu : {Hsm::kAnyVcpu, 2u}) {
    s.Consume();
    s.rig.hsm.Upcall(s.rig.vm, vcpu);
    EXPECT_TRUE(s.Bell(s.a).Peek()) << vcpu;
    EXPECT_TRUE(s.Bell(s.b).Peek()) << vcpu;
  }
  // FREE, though its fields name a port of `a`'s (left by a request done).
  EncodeAccess(PortRead(0x61, 1), s.rig.Slot(1));
  ASSERT_EQ(s.rig.State(1), kStateFree);
  s.Consume();
  s.rig.hsm.Upcall(s.rig.vm, 1);
  EXPECT_FALSE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
}

// [pause] An upcall while paused rings nobody: a claim could not run, and
// Resume() looks again (without threads, by claiming at once).
TEST(DirectClaimer, AnUpcallWhilePausedRingsNobody) {
  TwoClients s;
  s.rig.hsm.Pause();
  ASSERT_TRUE(
      s.rig.hv.InsertRequest(s.rig.vm, 0, PortRead(0x60, 1), true).ok());
  EXPECT_FALSE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
  s.rig.hsm.Resume();
  EXPECT_EQ(*s.rig.hsm.PendingBitmap(s.a), 1u);
  EXPECT_TRUE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
}

// [dispatch] A pass claims for every client in turn and rings each client
// it gave a request, and only those: `b` looked at `a`'s request first and
// took nothing.
TEST(DirectClaimer, APassRingsOnlyTheClientsItGaveARequest) {
  TwoClients s;
  ASSERT_TRUE(
      s.rig.hv.InsertRequest(s.rig.vm, 0, PortRead(0x60, 1), true).ok());
  s.Consume();
  s.rig.hsm.Dispatch();
  EXPECT_EQ(*s.rig.hsm.PendingBitmap(s.a), 1u);
  EXPECT_TRUE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
  // A pass that finds nothing rings nobody.
  s.Consume();
  s.rig.hsm.Dispatch();
  EXPECT_FALSE(s.Bell(s.a).Peek());
  EXPECT_FALSE(s.Bell(s.b).Peek());
}

// With HsmOptions::check_range_index every claim looks up under the
// clients lock (the kernel's linear scan is walked beside the index, over
// the client list): none takes the path without it, steady state or not.
TEST(DirectClaimer, WithTheIndexCheckedEveryClaimTakesTheClientsLock) {
  testing::ManualRig rig(/*vcpus=*/1, testing::ManualOptions(Topology::kDirect));
  const ClientId uart = rig.AddConstantClient("uart", 0x60);
  ASSERT_TRUE(rig.hsm.AddRange(uart, kTypePortIo, 0x3F8, 0x3FF).ok());
  for (int i = 0; i < 2; ++i) {  // the second one as in steady state
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
    HsmContext& ctx = HsmTestPeer::Context(rig.hsm);
    VmState& vm = **ctx.registry.FindVm(rig.vm);
    IoRequest snapshot = RouteSnapshot(rig.Slot(0));
    ClaimOutcome outcome = ClaimOutcome::kNotMine;
    std::vector<EventfdDoorbell*> wakes;
    EXPECT_FALSE(FinishesWhileTheClientsLockIsHeld(vm, [&] {
      outcome = ClaimAs(rig, uart, 0, snapshot, wakes);
    })) << "claim " << i << " routed without the clients lock";
    EXPECT_EQ(outcome, ClaimOutcome::kTaken);
    ASSERT_TRUE(rig.hsm.ServeClient(uart).ok());
    ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());
  }
}

// The default client's claim in steady state, of a slot reused under its
// snapshot for a 0xCF8 write: the claim folds it under the lock (the latch
// moves, the write completes in place) though the snapshot was no
// configuration access.
TEST(DirectClaimer, TheDefaultClientFoldsA0xCF8WriteReusedUnderItsSnapshot) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  // 0x60 is nobody's but the device model's; one request remembers that.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeDefaultRequests(s.dm, [](IoAccess&) {
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());

  IoRequest stale{};
  EncodeAccess(PortRead(0x60, 1), stale);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortWrite(0xCF8, 4, 0x80001800),
                                   true).ok());
  std::vector<EventfdDoorbell*> wakes;
  EXPECT_EQ(ClaimAs(rig, s.dm, 0, stale, wakes), ClaimOutcome::kAnswered);
  EXPECT_EQ(s.vm().pci_config_address, 0x80001800u);
  EXPECT_EQ(rig.State(0), kStateComplete);
  EXPECT_EQ(*rig.hsm.PendingBitmap(s.dm), 0u);
}

// A claim in steady state whose claimed fields (a slot reused under the
// snapshot) are not remembered yet looks them up under the lock, rather
// than trust the snapshot's answer: they are the device model's, so the
// slot goes back to it.
TEST(DirectClaimer, ClaimedFieldsTheMemoLacksAreLookedUp) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  rig.hsm.Dispatch();  // remembers 0x3F8, one byte
  ASSERT_TRUE(rig.hsm.ServeClient(s.uart).ok());
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());

  IoRequest stale{};
  EncodeAccess(PortRead(0x3F8, 1), stale);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  std::vector<EventfdDoorbell*> wakes;
  EXPECT_EQ(ClaimAs(rig, s.uart, 0, stale, wakes), ClaimOutcome::kGivenBack);
  EXPECT_EQ(*rig.hsm.PendingBitmap(s.uart), 0u);
  EXPECT_EQ(rig.State(0), kStatePending);
  EXPECT_EQ(rig.hsm.stats().rerouted, 1u);
  ASSERT_EQ(wakes.size(), 1u);
  EXPECT_EQ(wakes[0],
            &BellOf<EventfdDoorbell>(**s.ctx().registry.FindClient(s.dm)));
}

// [kernel-handled] The default client marks a slot for its owner only when
// the slot is PENDING and unmarked: a stale snapshot of another client's
// request never marks the device model's own request, PROCESSING with
// kernel_handled 0; and a slot already marked rings nobody (its upcall
// rang the owner).
TEST(DirectClaimer, TheDefaultClientMarksOnlyAnUnmarkedPendingSlot) {
  SteadyState s;
  testing::ManualRig& rig = s.rig;
  IoRequest stale{};
  EncodeAccess(PortRead(0x3F8, 1), stale);  // the uart's
  std::vector<EventfdDoorbell*> wakes;

  // PENDING and marked: not the device model's, and nobody rung.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x3F8, 1), true).ok());
  ASSERT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 1u);
  EXPECT_EQ(ClaimAs(rig, s.dm, 0, stale, wakes), ClaimOutcome::kNotMine);
  EXPECT_TRUE(wakes.empty());
  rig.hsm.Dispatch();
  ASSERT_TRUE(rig.hsm.ServeClient(s.uart).ok());
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());

  // The device model's own request, held: left unmarked.
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  rig.hsm.Dispatch();
  ASSERT_EQ(*rig.hsm.PendingBitmap(s.dm), 1u);
  ASSERT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u);
  EXPECT_NE(ClaimAs(rig, s.dm, 0, stale, wakes), ClaimOutcome::kTaken);
  EXPECT_EQ(LoadKernelHandledAcquire(rig.Slot(0)), 0u)
      << "the device model's request was marked the kernel's";
  EXPECT_TRUE(wakes.empty());
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
