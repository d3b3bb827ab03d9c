// RouteRequest(): the one routing sequence both engines share, alone
// [dispatch] [cf8cfc] [find-client] [clear].
#include "core/hsm/internal/router.h"

#include <atomic>
#include <memory>
#include <thread>

#include "core/abi/slot_decode.h"
#include "core/hsm/cf8cfc.h"
#include "core/hsm/internal/registry.h"
#include "core/hsm/internal/vm_state.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace hsm_internal {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    vm_ = std::make_shared<VmState>();
    vm_->vmid = 0;
    vm_->vcpu_num = 1;
  }

  ClientState* AddClient(bool is_default) {
    auto client = std::make_shared<ClientState>();
    client->name = is_default ? "dm" : "c";
    client->is_default = is_default;
    // client->vm stays null: the router does not read it, and a VM that
    // holds its clients while they hold it would never be freed.
    EXPECT_TRUE(registry_.Attach(*vm_, client).ok());
    return client.get();
  }
  void AddRange(ClientState* c, uint32_t type, uint64_t start, uint64_t end) {
    vm_->reference_ranges.Add(c->id, IoRange{type, start, end});
    vm_->range_index.Add(c->id, IoRange{type, start, end});
  }
  static IoRequest Request(const IoAccess& access) {
    IoRequest req{};
    EncodeAccess(access, req);
    return req;
  }
  RouteDecision Route(IoRequest& req, uint32_t* latch) {
    return RouteRequest(*vm_, req, latch, /*check_index=*/true);
  }
  // As the engines route by default: an answer in the memo is not looked up.
  ClientState* Owner(const IoAccess& access) {
    IoRequest req = Request(access);
    return RouteRequest(*vm_, req, nullptr, /*check_index=*/false).client;
  }

  Registry registry_;
  std::shared_ptr<VmState> vm_;
  uint32_t latch_ = 0;
};

TEST_F(RouterTest, NewestClientWithTheWholeAccessWinsElseTheDefault) {
  ClientState* old_client = AddClient(false);
  ClientState* new_client = AddClient(false);
  ClientState* dm = AddClient(true);
  AddRange(old_client, kTypeMmio, 0x1000, 0x1FFF);
  AddRange(new_client, kTypeMmio, 0x1000, 0x10FF);
  IoRequest inside_new = Request(MmioRead(0x1010, 4));
  IoRequest only_old = Request(MmioRead(0x1800, 4));
  IoRequest straddles_new = Request(MmioRead(0x10FE, 4));  // old holds it
  IoRequest nobody = Request(MmioRead(0x9000, 4));
  EXPECT_EQ(Route(inside_new, &latch_).client, new_client);
  EXPECT_EQ(Route(only_old, &latch_).client, old_client);
  EXPECT_EQ(Route(straddles_new, &latch_).client, old_client);
  const RouteDecision d = Route(nobody, &latch_);
  EXPECT_EQ(d.route, Route::kDeliver);
  EXPECT_EQ(d.client, dm);
}

TEST_F(RouterTest, NoClientAtAll) {
  IoRequest req = Request(PortRead(0x60, 1));
  const RouteDecision d = Route(req, &latch_);
  EXPECT_EQ(d.route, Route::kNoClient);
  EXPECT_EQ(d.client, nullptr);
}

TEST_F(RouterTest, ClearingComesFirst) {
  AddClient(true);
  vm_->clearing.store(true);
  IoRequest invalid = Request(MmioRead(0x1000, 4));
  invalid.reqs.mmio_request.size = 3;
  EXPECT_EQ(Route(invalid, &latch_).route, Route::kCompleteUnemulated);
}

TEST_F(RouterTest, InvalidRequestIsAnsweredNotRouted) {
  ClientState* c = AddClient(false);
  AddRange(c, kTypeMmio, 0, ~0ull);
  IoRequest req = Request(MmioRead(0x1000, 4));
  req.reqs.mmio_request.size = 3;
  const RouteDecision d = Route(req, &latch_);
  EXPECT_EQ(d.route, Route::kAnswerAllOnes);
  EXPECT_EQ(d.client, nullptr);
}

TEST_F(RouterTest, ConfigAddressIsLatchedInPlaceEvenWithoutAClient) {
  IoRequest write = Request(PortWrite(0xCF8, 4, 0x80001800));
  EXPECT_EQ(Route(write, &latch_).route, Route::kCompletedInPlace);
  EXPECT_EQ(latch_, 0x80001800u);
  IoRequest read = Request(PortRead(0xCF8, 4));
  EXPECT_EQ(Route(read, &latch_).route, Route::kCompletedInPlace);
  EXPECT_EQ(RequestValue(read), 0x80001800u);
}

TEST_F(RouterTest, EnabledDataPortIsFoldedAndGoesToTheDefaultClient) {
  ClientState* greedy = AddClient(false);
  AddRange(greedy, kTypePortIo, 0, 0xFFFF);
  ClientState* dm = AddClient(true);
  latch_ = 0x80001800;  // 00:03.0, register 0
  IoRequest req = Request(PortRead(0xCFE, 2));
  const RouteDecision d = Route(req, &latch_);
  EXPECT_EQ(d.route, Route::kDeliver);
  EXPECT_TRUE(d.folded);
  EXPECT_EQ(d.client, dm);
  EXPECT_EQ(req.type, kTypePciCfg);
  EXPECT_EQ(req.reqs.pci_request.dev, 3u);
  EXPECT_EQ(req.reqs.pci_request.reg, 2u);
}

TEST_F(RouterTest, FoldedRequestIsCheckedAgain) {
  AddClient(true);
  latch_ = 0x8F0000FC;  // register 0xFFC; 0xCFF gives 0xFFF: size 4 overruns
  IoRequest req = Request(PortRead(0xCFF, 4));
  const RouteDecision d = Route(req, &latch_);
  EXPECT_TRUE(d.folded);
  EXPECT_EQ(d.route, Route::kAnswerAllOnes);
}

TEST_F(RouterTest, DisabledDataPortIsAnsweredInPlace) {
  AddClient(true);
  latch_ = 0x00001800;  // enable bit clear
  IoRequest req = Request(PortRead(0xCFC, 4));
  EXPECT_EQ(Route(req, &latch_).route, Route::kCompletedInPlace);
  EXPECT_EQ(RequestValue(req), 0xFFFFFFFFu);
}

TEST_F(RouterTest, WithoutTheLatchAConfigAccessGoesUnfoldedToTheDefault) {
  ClientState* greedy = AddClient(false);
  AddRange(greedy, kTypePortIo, 0, 0xFFFF);
  IoRequest write = Request(PortWrite(0xCF8, 4, 0x80001800));
  EXPECT_EQ(Route(write, nullptr).route, Route::kNoClient);  // no default yet
  ClientState* dm = AddClient(true);
  const RouteDecision d = Route(write, nullptr);
  EXPECT_EQ(d.route, Route::kDeliver);
  EXPECT_EQ(d.client, dm);
  EXPECT_FALSE(d.folded);
  EXPECT_EQ(write.type, kTypePortIo);  // untouched
}

// [find-client] in steady state: an access routed before is answered from
// the memo, whatever the number of ranges.
TEST_F(RouterTest, ARepeatedAccessIsAnsweredWithoutALookup) {
  ClientState* c = AddClient(false);
  ClientState* dm = AddClient(true);
  for (uint64_t i = 0; i < 64; ++i) {
    AddRange(c, kTypeMmio, i << 12, (i << 12) | 0xFFF);
  }
  const RouteMemo& memo = vm_->route_memo;
  EXPECT_EQ(Owner(MmioRead(0x5010, 4)), c);
  EXPECT_EQ(Owner(PortRead(0x60, 1)), dm);
  const uint64_t misses = memo.misses();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Owner(MmioRead(0x5010, 4)), c);
    EXPECT_EQ(Owner(PortRead(0x60, 1)), dm);
  }
  EXPECT_EQ(memo.misses(), misses);
  EXPECT_GE(memo.hits(), 20u);
  // Another size or type at the same address is another access.
  EXPECT_EQ(Owner(MmioRead(0x5010, 8)), c);
  EXPECT_EQ(Owner(PortRead(0x5010, 1)), dm);
  EXPECT_EQ(memo.misses(), misses + 2);
}

TEST_F(RouterTest, EveryRangeEditForgetsWhatTheMemoKept) {
  ClientState* old_client = AddClient(false);
  ClientState* dm = AddClient(true);
  AddRange(old_client, kTypePortIo, 0x3F8, 0x3FF);
  EXPECT_EQ(Owner(PortWrite(0x3F8, 1, 0x41)), old_client);
  // A newer client's range over it wins at once.
  ClientState* new_client = AddClient(false);
  AddRange(new_client, kTypePortIo, 0x3F8, 0x3F8);
  EXPECT_EQ(Owner(PortWrite(0x3F8, 1, 0x41)), new_client);
  // Its range removed: back to the older client.
  vm_->reference_ranges.Remove(new_client->id, {kTypePortIo, 0x3F8, 0x3F8});
  ASSERT_TRUE(vm_->range_index.Remove(new_client->id, {kTypePortIo, 0x3F8, 0x3F8}));
  EXPECT_EQ(Owner(PortWrite(0x3F8, 1, 0x41)), old_client);
  // The older client detached: the memo never hands out a client that left.
  registry_.DetachLocked(*vm_, *old_client);
  EXPECT_EQ(Owner(PortWrite(0x3F8, 1, 0x41)), dm);
}

TEST_F(RouterTest, TheDefaultClientIsReadAtEachAnswer) {
  IoRequest req = Request(PortRead(0x60, 1));
  EXPECT_EQ(Route(req, nullptr).route, Route::kNoClient);
  ClientState* dm = AddClient(true);
  EXPECT_EQ(Owner(PortRead(0x60, 1)), dm);
  registry_.DetachLocked(*vm_, *dm);
  EXPECT_EQ(Owner(PortRead(0x60, 1)), nullptr);
  ClientState* dm2 = AddClient(true);
  EXPECT_EQ(Owner(PortRead(0x60, 1)), dm2);
}

// RouteSnapshotWithoutLock(), the direct upcall's routing in steady state:
// the same decisions, answered only from the memo and lock-free fields.
TEST_F(RouterTest, WithoutTheLockOnlyTheMemoAnswersTheOwner) {
  ClientState* uart = AddClient(false);
  ClientState* dm = AddClient(true);
  AddRange(uart, kTypePortIo, 0x3F8, 0x3FF);
  RouteDecision d;
  IoRequest write = Request(PortWrite(0x3F8, 1, 0x41));
  EXPECT_FALSE(RouteSnapshotWithoutLock(*vm_, write, &d));  // not looked up yet
  EXPECT_EQ(Owner(PortWrite(0x3F8, 1, 0x41)), uart);        // looked up, kept
  ASSERT_TRUE(RouteSnapshotWithoutLock(*vm_, write, &d));
  EXPECT_EQ(d.route, Route::kDeliver);
  EXPECT_EQ(d.client, uart);
  // "No range": the default client, read at the answer.
  IoRequest other = Request(PortRead(0x60, 1));
  EXPECT_EQ(Owner(PortRead(0x60, 1)), dm);
  ASSERT_TRUE(RouteSnapshotWithoutLock(*vm_, other, &d));
  EXPECT_EQ(d.client, dm);
  // Configuration ports go to the default client unfolded, with no lookup.
  IoRequest cf8 = Request(PortWrite(0xCF8, 4, 0x80000000));
  ASSERT_TRUE(RouteSnapshotWithoutLock(*vm_, cf8, &d));
  EXPECT_EQ(d.client, dm);
  EXPECT_FALSE(d.folded);
  // A range edit forgets the memo: only a lookup can answer again.
  AddRange(dm, kTypeMmio, 0x1000, 0x1FFF);
  EXPECT_FALSE(RouteSnapshotWithoutLock(*vm_, write, &d));
  // What needs no owner is answered as RouteRequest() answers it.
  IoRequest bad = Request(PortRead(0x60, 3));
  ASSERT_TRUE(RouteSnapshotWithoutLock(*vm_, bad, &d));
  EXPECT_EQ(d.route, Route::kAnswerAllOnes);
  vm_->clearing.store(true);
  ASSERT_TRUE(RouteSnapshotWithoutLock(*vm_, write, &d));
  EXPECT_EQ(d.route, Route::kCompleteUnemulated);
}

// A fresh memo has counted nothing; each counted Find() is one hit or one
// miss, and FindUncounted() (the direct upcall's) neither.
TEST(RouteMemo, EachFindCountsOneHitOrOneMiss) {
  RouteMemo memo;
  ClientState client;
  ClientState* owner = nullptr;
  EXPECT_EQ(memo.hits(), 0u);
  EXPECT_EQ(memo.misses(), 0u);
  EXPECT_FALSE(memo.Find(1, kTypePortIo, 0x3F8, 1, &owner));
  EXPECT_EQ(memo.hits(), 0u);
  EXPECT_EQ(memo.misses(), 1u);
  memo.Remember(1, kTypePortIo, 0x3F8, 1, &client);
  ASSERT_TRUE(memo.Find(1, kTypePortIo, 0x3F8, 1, &owner));
  EXPECT_EQ(owner, &client);
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_EQ(memo.misses(), 1u);
  EXPECT_TRUE(memo.FindUncounted(1, kTypePortIo, 0x3F8, 1, &owner));
  EXPECT_FALSE(memo.FindUncounted(2, kTypePortIo, 0x3F8, 1, &owner));
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_EQ(memo.misses(), 1u);
}

// A read of an entry while Remember() writes it (here from inside the
// write, after its new generation and before its owner): the entry is
// marked odd, so the read is a miss, not the new generation with the old
// owner. The racing test below may or may not land a read there; this one
// always does.
struct ReadInsideRemember {
  static void Pause() {
    if (memo == nullptr) return;
    ++reads;
    ClientState* owner = nullptr;
    hit = memo->FindUncounted(2, kTypePortIo, 0x3F8, 1, &owner);
  }
  static inline const BasicRouteMemo<ReadInsideRemember>* memo = nullptr;
  static inline bool hit = false;
  static inline int reads = 0;
};

TEST(RouteMemo, AnEntryBeingWrittenIsAMiss) {
  BasicRouteMemo<ReadInsideRemember> memo;
  ClientState first, second;
  memo.Remember(1, kTypePortIo, 0x3F8, 1, &first);
  ReadInsideRemember::memo = &memo;
  memo.Remember(2, kTypePortIo, 0x3F8, 1, &second);
  ReadInsideRemember::memo = nullptr;
  ASSERT_EQ(ReadInsideRemember::reads, 1);
  EXPECT_FALSE(ReadInsideRemember::hit);
  ClientState* owner = nullptr;
  ASSERT_TRUE(memo.FindUncounted(2, kTypePortIo, 0x3F8, 1, &owner));
  EXPECT_EQ(owner, &second);
}

// The memo read without the lock, against Remember() on another thread:
// each entry is a sequence lock, so a read that overlaps a write is a miss,
// never one access's generation with another's owner.
TEST(RouteMemo, AReadRacingAWriteIsAMissNeverAMixedAnswer) {
  RouteMemo memo;
  ClientState first, second;
  constexpr uint64_t kAddr = 0x3F8;
  constexpr int kReads = 1000000;
  // The writer runs from before the first read to after the last, so every
  // read races it (whatever the scheduler does with the two threads).
  std::atomic<bool> writing{false}, reading_done{false};
  std::thread writer([&] {
    do {
      // Generation 2 always names `first`, generation 3 `second`.
      memo.Remember(2, kTypePortIo, kAddr, 1, &first);
      memo.Remember(3, kTypePortIo, kAddr, 1, &second);
      writing.store(true);
    } while (!reading_done.load());
  });
  while (!writing.load()) std::this_thread::yield();
  for (int i = 0; i < kReads; ++i) {
    const uint64_t generation = 2 + (i & 1);
    ClientState* owner = nullptr;
    if (memo.FindUncounted(generation, kTypePortIo, kAddr, 1, &owner)) {
      ASSERT_EQ(owner, generation == 2 ? &first : &second)
          << "generation " << generation << ", read " << i;
    }
  }
  reading_done.store(true);
  writer.join();
  ClientState* owner = nullptr;
  ASSERT_TRUE(memo.FindUncounted(3, kTypePortIo, kAddr, 1, &owner));
  EXPECT_EQ(owner, &second);
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
