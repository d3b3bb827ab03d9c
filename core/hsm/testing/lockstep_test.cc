#include "core/hsm/testing/lockstep.h"

#include <cstddef>
#include <random>
#include <string>
#include <tuple>

#include "core/abi/slot_state.h"
#include "core/hsm/hsm_test_peer.h"
#include "core/hsm/internal/engine.h"
#include "core/hsm/internal/vm_state.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

using ::testing::HasSubstr;

hsm_internal::VmState& VmOf(Lockstep& world) {
  return **HsmTestPeer::Context(world.hsm()).registry.FindVm(world.vm());
}

// An in-process client on the UART's ports (0x3f8..0x3ff), then the
// default client.
absl::Status AddUartClientAndDefault(Lockstep& w) {
  absl::Status s = w.CreateClient(false);
  if (s.ok()) s = w.AddRange(0, {kTypePortIo, 0x3f8, 0x3ff});
  if (s.ok()) s = w.CreateClient(true);
  return s;
}

// Accesses on both sides of each bound of section 7's validation: the
// shadow says which the HSM routes and which it completes unemulated.
IoAccess EdgeAccess(uint32_t which) {
  constexpr uint64_t kConfigSpaceSize = 0x1000;  // a PCIe function's
  IoAccess a;
  switch (which) {
    case 0: return PortRead(0xFFFE, 2);                  // the last two ports
    case 1: return PortRead(0xFFFF, 2);                  // past port 0xFFFF
    case 2: return MmioRead(0xFFFFFFFFFFFFFFF8ull, 8);   // the last 8 bytes
    case 3: return MmioRead(0xFFFFFFFFFFFFFFF9ull, 8);   // wraps
    case 4: a = PortRead(0x3f8, 1); a.direction = 2; return a;  // neither
    default: break;
  }
  // A configuration-space request: bus 0xFF, device 0x1F, function 7 and
  // the space's last dword are the largest valid; one more is not.
  a.type = kTypePciCfg;
  a.size = 4;
  a.bus = 0xFF;
  a.dev = 0x1F;
  a.func = 7;
  a.address = kConfigSpaceSize - 4;
  switch (which) {
    case 5: break;
    case 6: a.bus = 0x100; break;
    case 7: a.dev = 0x20; break;
    case 8: a.func = 8; break;
    default: a.address = kConfigSpaceSize - 2; break;  // runs past the end
  }
  return a;
}

// Each topology and profile, with every route checked against the kernel's
// list (under clients_mu) and routed as in production (the memo, without
// the lock where it answers).
class LockstepTest
    : public ::testing::TestWithParam<std::tuple<Topology, Profile, bool>> {
 protected:
  Topology topology() const { return std::get<0>(GetParam()); }
  Profile profile() const { return std::get<1>(GetParam()); }
  bool checked() const { return std::get<2>(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(
    EveryTopologyProfileAndRouting, LockstepTest,
    ::testing::Combine(::testing::ValuesIn(kAllTopologies),
                       ::testing::ValuesIn(kAllProfiles), ::testing::Bool()),
    [](const auto& info) {
      return std::string(TopologyName(std::get<0>(info.param))) + "_" +
             ProfileName(std::get<1>(info.param)) +
             (std::get<2>(info.param) ? "_checked" : "_production");
    });

// The life cycle of every rule the shadow keeps, each step compared.
TEST_P(LockstepTest, AgreesOnEveryRuleOfTheLifeCycle) {
  Lockstep w(topology(), profile(), 4, checked());
  ASSERT_TRUE(AddUartClientAndDefault(w).ok());
  // [find-client] one to the in-process client, one to the default.
  ASSERT_TRUE(w.Insert(0, PortRead(0x3f8, 1), false).ok());
  ASSERT_TRUE(w.Insert(1, MmioRead(0x2000, 4), true).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  EXPECT_EQ(LoadStateRelaxed(w.page()->slots[0]), kStateProcessing);
  // [destroy] the in-process client's request goes to the default client.
  ASSERT_TRUE(w.DestroyClient(false, 0).ok());
  ASSERT_TRUE(w.ServeDefault().ok());
  ASSERT_TRUE(w.Take(0).ok());
  ASSERT_TRUE(w.Take(1).ok());
  // [cf8cfc] the latch, an enabled data read folded, then disabled.
  ASSERT_TRUE(w.Insert(2, PortWrite(0xCF8, 4, 0x80001810u), false).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  ASSERT_TRUE(w.Take(2).ok());
  ASSERT_TRUE(w.Insert(2, PortRead(0xCFE, 2), false).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  ASSERT_TRUE(w.ServeDefault().ok());
  ASSERT_TRUE(w.Take(2).ok());
  // [pause] nothing routes while paused; the last resume routes once.
  ASSERT_TRUE(w.Pause().ok());
  ASSERT_TRUE(w.Insert(3, PortRead(0x60, 1), false).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  EXPECT_EQ(LoadStateRelaxed(w.page()->slots[3]), kStatePending);
  ASSERT_TRUE(w.Resume().ok());
  // [clear] the default client's request is completed as it is.
  ASSERT_TRUE(w.Clear().ok());
  EXPECT_EQ(LoadStateRelaxed(w.page()->slots[3]), kStateComplete);
  ASSERT_TRUE(w.Take(3).ok());
  // [notify-finish] refused for a vCPU the default client does not hold.
  ASSERT_TRUE(w.NotifyFinish(3).ok());
  ASSERT_TRUE(w.NotifyFinish(70000).ok());
  ASSERT_TRUE(w.Reset().ok());
  EXPECT_EQ(w.shadow().counters().completed, 5u);
}

// A seeded random walk over every operation: the same ops the fuzzer
// makes, on every configuration, with Restart() between walks.
TEST_P(LockstepTest, AgreesOnRandomWalks) {
  for (uint32_t vcpus : {1u, 3u, 16u}) {
    Lockstep w(topology(), profile(), vcpus, checked());
    std::mt19937 rng(vcpus);
    auto pick = [&](uint32_t n) { return rng() % n; };
    for (int walk = 0; walk < 20; ++walk) {
      for (int step = 0; step < 200; ++step) {
        absl::Status s;
        const uint32_t v = pick(vcpus);
        switch (pick(14)) {
          case 0: case 1: {
            IoAccess a;
            switch (pick(5)) {
              case 4: a = EdgeAccess(pick(10)); break;
              case 0: a = MmioRead(0x1000 + pick(0x100), 1u << pick(4)); break;
              case 1: a = PortWrite(0x3f0 + pick(16), 1, pick(256)); break;
              case 2: a = PortWrite(0xCF8, 4, pick(2) ? 0x80001800u + pick(0x100) : 0); break;
              // The data window 0xCFC-0xCFF and a port on each side of it.
              default: a = PortRead(0xCFB + pick(6), 1); break;
            }
            s = w.Insert(v, a, pick(2));
            break;
          }
          case 2: s = w.Dispatch(); break;
          case 3: s = w.ServeClient(pick(4)); break;
          case 4: s = w.ServeDefault(); break;
          case 5: s = w.NotifyFinish(pick(20)); break;
          case 6: s = w.CreateClient(pick(3) == 0); break;
          case 7: s = w.DestroyClient(pick(3) == 0, pick(4)); break;
          case 8: {
            // The UART's ports, the configuration ports (which only the
            // default client takes, whatever range covers them), MMIO.
            const uint32_t where = pick(4);
            const uint64_t start = where == 0   ? 0xCF0 + pick(16)
                                   : where == 1 ? 0x1000 + pick(0x100)
                                                : 0x3f0 + pick(16);
            s = w.AddRange(pick(4), {start < 0x1000 ? kTypePortIo : kTypeMmio,
                                     start, start + pick(0x20)});
            break;
          }
          case 9: s = w.DelRange(pick(4), pick(4)); break;
          case 10: s = pick(6) == 0 ? w.Clear() : w.Reset(); break;
          case 11: s = pick(2) ? w.Pause() : w.Resume(); break;
          case 12: {
            const char bytes[4] = {char(pick(256)), char(pick(4)), 0, 0};
            const char mark[4] = {char(pick(3)), 0, 0, 0};  // 0, 1 or 2
            switch (pick(8)) {
              case 0: s = w.Garbage(v, pick(256), std::string(bytes, 4)); break;
              case 1:
                s = w.Garbage(v, offsetof(IoRequest, kernel_handled),
                              std::string(mark, 4));
                break;
              default: s = w.Take(v); break;
            }
            break;
          }
          default: s = w.Take(v); break;
        }
        ASSERT_TRUE(s.ok()) << "walk " << walk << " step " << step << ": "
                            << s.message();
      }
      w.Restart();
      const absl::Status restarted = w.Check();
      ASSERT_TRUE(restarted.ok()) << restarted.message();
    }
    // The walks reach every operation (one that found nothing to do is not
    // a step: a walk that never deleted a range would check no deletion).
    for (const char* op : {"insert", "garbage", "take", "reset", "dispatch",
                           "serve client", "serve default", "notify finish",
                           "create client", "destroy client", "add range",
                           "delete range", "clear", "pause", "resume"}) {
      EXPECT_GE(w.steps_taken(op), 5) << vcpus << " vCPUs: " << op;
    }
  }
}

// Found by the random walks once they made invalid requests: in a VM with
// no default client, the last in-process client's destruction routes once,
// and an invalid request is answered all-ones then, in the direct topology
// too: the VM's ioeventfd client is still there to claim it. The shadow
// had thought it left PENDING with no client of its own to claim it.
TEST_P(LockstepTest, AnInvalidRequestIsAnsweredWithNoClientButIoeventfds) {
  Lockstep w(topology(), profile(), 1, checked());
  ASSERT_TRUE(w.CreateClient(false).ok());
  ASSERT_TRUE(w.Insert(0, PortRead(0xFFFF, 2), false).ok());  // past 0xFFFF
  const absl::Status destroyed = w.DestroyClient(false, 0);
  ASSERT_TRUE(destroyed.ok()) << destroyed;
  EXPECT_EQ(LoadStateRelaxed(w.page()->slots[0]), kStateComplete);
  EXPECT_EQ(w.hsm().stats().rejected_invalid, 1u);
  const absl::Status taken = w.Take(0);  // all-ones, as the rules say
  EXPECT_TRUE(taken.ok()) << taken;
}

// Found by the random walks: a request the hypervisor's garbage made
// PENDING (no vCPU waits for it) is dispatched to an in-process client; a
// reset made its slot FREE but left the client's bit, with which it could
// complete the vCPU's next request. Hsm::ResetVm() now drops such bits.
TEST_P(LockstepTest, AResetLeavesNothingHeld) {
  Lockstep w(topology(), profile(), 2, checked());
  ASSERT_TRUE(w.CreateClient(false).ok());
  ASSERT_TRUE(w.AddRange(0, {kTypePortIo, 0x3f8, 0x3ff}).ok());
  IoRequest& slot = w.page()->slots[1];
  EncodeAccess(PortRead(0x3f8, 1), slot);
  const uint32_t pending = kStatePending;
  ASSERT_TRUE(w.Garbage(1, offsetof(IoRequest, processed),
                        std::string(reinterpret_cast<const char*>(&pending), 4))
                  .ok());
  ASSERT_TRUE(w.Dispatch().ok());
  ASSERT_EQ(*w.hsm().PendingBitmap(VmOf(w).clients.front()->id), 2u);
  ASSERT_TRUE(w.Reset().ok());
  EXPECT_EQ(*w.hsm().PendingBitmap(VmOf(w).clients.front()->id), 0u);
  ASSERT_TRUE(w.Insert(1, PortRead(0x60, 1), false).ok());
  EXPECT_TRUE(w.Check().ok());
}

// Garbage that makes a held request's slot FREE leaves the holder's bit
// until the holder serves and lets go: the oracle must not call that a
// request in no place (found by the concurrent target's replay).
TEST_P(LockstepTest, GarbageThatFreesAHeldSlotIsFollowedUntilLetGo) {
  if (profile() != Profile::kHardened) GTEST_SKIP() << "acrn: wild until reset";
  Lockstep w(topology(), profile(), 2, checked());
  ASSERT_TRUE(w.CreateClient(false).ok());
  ASSERT_TRUE(w.AddRange(0, {kTypePortIo, 0x3f8, 0x3ff}).ok());
  ASSERT_TRUE(w.Insert(1, PortRead(0x3f8, 1), false).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  const ClientId client = VmOf(w).clients.front()->id;
  ASSERT_EQ(*w.hsm().PendingBitmap(client), 2u);
  const uint32_t free_state = kStateFree;
  const absl::Status freed = w.Garbage(
      1, offsetof(IoRequest, processed),
      std::string(reinterpret_cast<const char*>(&free_state), 4));
  EXPECT_TRUE(freed.ok()) << freed;
  EXPECT_TRUE(w.shadow().slot(1).wild);
  const absl::Status served = w.ServeClient(0);
  EXPECT_TRUE(served.ok()) << served;
  EXPECT_EQ(*w.hsm().PendingBitmap(client), 0u);
  EXPECT_FALSE(w.shadow().slot(1).wild);
  const absl::Status again = w.Insert(1, PortRead(0x3f8, 1), false);
  EXPECT_TRUE(again.ok()) << again;
}

// [kernel-handled] A hypervisor that writes kernel_handled alone, into a
// slot no client holds, makes nothing wild: the oracle goes on comparing,
// the direct topology's marks included. There the owner's own scan leaves
// a PENDING slot not marked 1 to the default client, whose claim marks it
// (`hardened`; under `acrn` the device model claims nothing, and a pass
// for every client marks it); the kernel topology's dispatcher writes the
// field when it hands the request over.
TEST_P(LockstepTest, AKernelHandledWriteAloneIsFollowedNotWild) {
  Lockstep w(topology(), profile(), 2, checked());
  ASSERT_TRUE(AddUartClientAndDefault(w).ok());
  ASSERT_TRUE(w.Insert(0, PortRead(0x3f8, 1), false).ok());
  const uint32_t unmarked = 0;
  const absl::Status written = w.Garbage(
      0, offsetof(IoRequest, kernel_handled),
      std::string(reinterpret_cast<const char*>(&unmarked), 4));
  ASSERT_TRUE(written.ok()) << written;
  EXPECT_FALSE(w.shadow().AnyWild());
  const IoRequest& slot = w.page()->slots[0];
  const absl::Status served = w.ServeClient(0);
  ASSERT_TRUE(served.ok()) << served;
  if (topology() == Topology::kDirect) {
    EXPECT_EQ(LoadStateRelaxed(slot), kStatePending);
    EXPECT_EQ(w.hsm().stats().left_to_default, 1u);
    const absl::Status marked = profile() == Profile::kHardened
                                    ? w.ServeDefault()
                                    : w.Dispatch();
    ASSERT_TRUE(marked.ok()) << marked;
    EXPECT_EQ(LoadKernelHandledAcquire(slot), 1u);
    ASSERT_TRUE(w.ServeClient(0).ok());
  } else {
    ASSERT_TRUE(w.Dispatch().ok());
    EXPECT_EQ(LoadKernelHandledAcquire(slot), 1u);
    ASSERT_TRUE(w.ServeClient(0).ok());
  }
  EXPECT_EQ(LoadStateRelaxed(slot), kStateComplete);
  const absl::Status taken = w.Take(0);
  EXPECT_TRUE(taken.ok()) << taken;
  EXPECT_FALSE(w.shadow().AnyWild());
  // On a PROCESSING slot the field names its holder: a write there is
  // garbage like any other.
  ASSERT_TRUE(w.Insert(0, PortRead(0x3f8, 1), false).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  ASSERT_TRUE(w.Garbage(0, offsetof(IoRequest, kernel_handled),
                        std::string(reinterpret_cast<const char*>(&unmarked), 4))
                  .ok());
  EXPECT_TRUE(w.shadow().slot(0).wild);
}

// Bytes no rule reads (reserved0, reserved1) make nothing wild, whatever
// the slot's state, and the request goes on as if they were never written.
TEST_P(LockstepTest, WritesIntoBytesNoRuleReadsChangeNothing) {
  Lockstep w(topology(), profile(), 2, checked());
  ASSERT_TRUE(AddUartClientAndDefault(w).ok());
  ASSERT_TRUE(w.Insert(0, PortRead(0x3f8, 1), false).ok());
  ASSERT_TRUE(w.Insert(1, MmioRead(0x2000, 4), false).ok());
  const std::string ones(4, '\xff');
  ASSERT_TRUE(w.Garbage(0, offsetof(IoRequest, reserved0), ones).ok());
  ASSERT_TRUE(w.Dispatch().ok());
  ASSERT_EQ(LoadStateRelaxed(w.page()->slots[1]), kStateProcessing);
  ASSERT_TRUE(w.Garbage(1, offsetof(IoRequest, reserved0) + 52, ones).ok());
  ASSERT_TRUE(w.Garbage(1, offsetof(IoRequest, reserved1), ones).ok());
  EXPECT_FALSE(w.shadow().AnyWild());
  ASSERT_TRUE(w.ServeClient(0).ok());
  ASSERT_TRUE(w.ServeDefault().ok());
  for (uint32_t v : {0u, 1u}) {
    const absl::Status taken = w.Take(v);
    EXPECT_TRUE(taken.ok()) << taken;
  }
  EXPECT_FALSE(w.shadow().AnyWild());
  // A write that runs from reserved1 into the request's state is garbage.
  ASSERT_TRUE(w.Garbage(0, offsetof(IoRequest, reserved1) + 2,
                        std::string(8, '\0'))
                  .ok());
  EXPECT_TRUE(w.shadow().slot(0).wild);
}

// The oracle is proved on faults planted in the real model.
class PlantedFaultTest : public ::testing::TestWithParam<Topology> {
 protected:
  // One in-process client holding vCPU 0's request, the default vCPU 1's.
  void SetUp() override {
    w_ = std::make_unique<Lockstep>(GetParam(), Profile::kHardened, 2);
    ASSERT_TRUE(w_->CreateClient(false).ok());
    ASSERT_TRUE(w_->AddRange(0, {kTypePortIo, 0x3f8, 0x3ff}).ok());
    ASSERT_TRUE(w_->CreateClient(true).ok());
    ASSERT_TRUE(w_->Insert(0, PortRead(0x3f8, 1), false).ok());
    ASSERT_TRUE(w_->Insert(1, PortRead(0x60, 1), false).ok());
    ASSERT_TRUE(w_->Dispatch().ok());
    ASSERT_TRUE(w_->Check().ok());
  }
  hsm_internal::ClientState& InProcess() {
    return *VmOf(*w_).clients.front();  // newest first: ours, not ioeventfd's
  }
  hsm_internal::ClientState& Default() { return *VmOf(*w_).default_client; }
  std::unique_ptr<Lockstep> w_;
};

INSTANTIATE_TEST_SUITE_P(BothTopologies, PlantedFaultTest,
                         ::testing::ValuesIn(kAllTopologies),
                         [](const auto& info) {
                           return std::string(TopologyName(info.param));
                         });

TEST_P(PlantedFaultTest, ALostPendingBitIsARequestInNoPlace) {
  InProcess().pending.fetch_and(~1u);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("held by no client"));
}

TEST_P(PlantedFaultTest, ABitHeldTwiceIsFound) {
  Default().pending.fetch_or(1u);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("and another"));
}

TEST_P(PlantedFaultTest, AHolderThatMovedIsFound) {
  InProcess().pending.fetch_and(~1u);
  Default().pending.fetch_or(1u);  // one place, but the wrong one
  StoreKernelHandledRelaxed(w_->page()->slots[0], 0);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("the rules say client"));
}

TEST_P(PlantedFaultTest, AStaleKernelHandledIsFound) {
  StoreKernelHandledRelaxed(w_->page()->slots[1], 1);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("kernel_handled 1"));
}

// The direct topology keeps every slot the default client does not hold
// marked the kernel's: a mark lost where no client holds the slot is found.
TEST_P(PlantedFaultTest, AnUnheldSlotThatLostItsMarkIsFound) {
  if (GetParam() != Topology::kDirect) {
    GTEST_SKIP() << "the kernel's dispatcher writes the field at hand-over";
  }
  ASSERT_TRUE(w_->ServeClient(0).ok());  // COMPLETE, held by no client
  StoreKernelHandledRelaxed(w_->page()->slots[0], 0);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("has kernel_handled 0; the rules say 1"));
}

TEST_P(PlantedFaultTest, ACompletionBehindTheHoldersBackIsFound) {
  InProcess().pending.fetch_and(~1u);
  StoreStateRelease(w_->page()->slots[0], kStateComplete);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("COMPLETE 0 times"));
}

TEST_P(PlantedFaultTest, AWrongLatchIsFound) {
  VmOf(*w_).pci_config_address = 0x80000000u;
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("latch"));
}

TEST_P(PlantedFaultTest, ACounterThatLiesIsFound) {
  HsmTestPeer::Context(w_->hsm()).counters.forced_by_clear.fetch_add(1);
  const absl::Status s = w_->Check();
  EXPECT_THAT(std::string(s.message()), HasSubstr("forced_by_clear"));
}

TEST_P(PlantedFaultTest, AWrongValueIsFound) {
  ASSERT_TRUE(w_->ServeClient(0).ok());
  SetRequestValue(w_->page()->slots[0], 0x5a);
  const absl::Status s = w_->Take(0);
  EXPECT_THAT(std::string(s.message()), HasSubstr("the rules say 0x"));
}

}  // namespace
}  // namespace ioreq
