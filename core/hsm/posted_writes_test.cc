// Posted writes [posted]: a write a descriptor matches goes through the
// VM's ring, with no slot and no wait, and is signalled exactly once; what
// a hostile hypervisor writes into the ring is counted, never followed.
#include "core/hsm/posted_writes.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

#include "core/abi/slot_state.h"
#include "core/harness/manual_rig.h"
#include "gtest/gtest.h"
#include "tools/testing/full_eventfd.h"
#include "tools/testing/no_free_fds.h"

namespace ioreq {
namespace {

using testing::ManualOptions;
using testing::ManualRig;

constexpr uint64_t kDoorbell = 0xD0000000;

struct EventFd {
  EventFd() : fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~EventFd() { close(fd); }
  uint64_t Take() const {
    uint64_t n = 0;
    return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
  }
  int fd;
};

PostedArgs Doorbell(const EventFd& e) {
  PostedArgs a;
  a.type = kTypeMmio;
  a.address = kDoorbell;
  a.fd = static_cast<uint32_t>(e.fd);
  return a;
}

struct Rig : ManualRig {
  explicit Rig(Profile profile = Profile::kHardened,
               Topology topology = Topology::kKernel)
      : ManualRig(2, ManualOptions(topology), profile) {
    dm = hsm.CreateClient(vm, "dm",
                          [](IoAccess& a) {
                            if (a.direction == kDirRead) a.value = 0x77;
                            return absl::OkStatus();
                          },
                          true)
             .value();
  }
  // One access by vCPU 0, driven to its end by hand.
  absl::StatusOr<uint64_t> Access(const IoAccess& access) {
    if (absl::Status s = hv.InsertRequest(vm, 0, access, false); !s.ok()) return s;
    hsm.Dispatch();
    hsm.ServeDefaultRequests(dm, [](IoAccess& a) {
      if (a.direction == kDirRead) a.value = 0x77;
      return absl::OkStatus();
    }).IgnoreError();
    return hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  }
  ClientId dm = 0;
};

class PostedWritesTest : public ::testing::TestWithParam<Topology> {};

TEST_P(PostedWritesTest, WriteIsPostedWithoutASlot) {
  Rig rig(Profile::kHardened, GetParam());
  EventFd e;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioWrite(kDoorbell, 4, i), false).ok());
    EXPECT_EQ(rig.State(0), kStateFree);  // no slot used
    ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());
  }
  rig.hsm.Dispatch();  // the kernel dispatcher drains; direct drained already
  EXPECT_EQ(e.Take(), 10u);
  EXPECT_EQ(rig.hsm.stats().posted_signaled, 10u);
  EXPECT_EQ(rig.hv.stats().posted, 10u);
  EXPECT_EQ(rig.hv.stats().inserted, 0u);
  EXPECT_EQ(rig.hv.HandledInHypervisor(rig.vm).value()[0], 10u);
}

TEST_P(PostedWritesTest, DataMatchPostsOnlyTheMatchingValue) {
  Rig rig(Profile::kHardened, GetParam());
  EventFd e;
  PostedArgs args = Doorbell(e);
  args.match_data = true;
  args.data = 5;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, args).ok());
  ASSERT_TRUE(rig.Access(MmioWrite(kDoorbell, 4, 5)).ok());
  ASSERT_TRUE(rig.Access(MmioWrite(kDoorbell, 4, 6)).ok());  // a slot
  rig.hsm.Dispatch();
  EXPECT_EQ(e.Take(), 1u);
  EXPECT_EQ(rig.hv.stats().posted, 1u);
  EXPECT_EQ(rig.hv.stats().inserted, 1u);
}

// A read has no value to post: the hardened hypervisor gives it a slot;
// ACRN's posts it too (no direction test) and the guest gets no value.
TEST_P(PostedWritesTest, ReadOfAPostedAddress) {
  for (Profile profile : kAllProfiles) {
    Rig rig(profile, GetParam());
    EventFd e;
    ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).ok());
    absl::StatusOr<uint64_t> got = rig.Access(MmioRead(kDoorbell, 4));
    ASSERT_TRUE(got.ok()) << got.status();
    rig.hsm.Dispatch();
    if (profile == Profile::kAcrn) {
      EXPECT_EQ(rig.hv.stats().posted_reads, 1u);
      EXPECT_EQ(e.Take(), 1u);  // the read signalled the eventfd
      EXPECT_EQ(*got, 0u);
    } else {
      EXPECT_EQ(rig.hv.stats().posted_reads, 0u);
      EXPECT_EQ(e.Take(), 0u);
      EXPECT_EQ(*got, 0x77u);  // the device model answered it
    }
  }
}

TEST_P(PostedWritesTest, DeassignedAddressTakesASlotAgain) {
  Rig rig(Profile::kHardened, GetParam());
  EventFd e;
  absl::StatusOr<uint64_t> cookie = rig.hsm.AssignPosted(rig.vm, Doorbell(e));
  ASSERT_TRUE(cookie.ok());
  ASSERT_TRUE(rig.Access(MmioWrite(kDoorbell, 4, 1)).ok());
  ASSERT_TRUE(rig.hsm.DeassignPosted(rig.vm, *cookie).ok());
  EXPECT_EQ(e.Take(), 1u);  // drained by the deassign
  ASSERT_TRUE(rig.Access(MmioWrite(kDoorbell, 4, 1)).ok());
  EXPECT_EQ(rig.hv.stats().inserted, 1u);
  EXPECT_EQ(rig.hsm.DeassignPosted(rig.vm, *cookie).code(),
            absl::StatusCode::kNotFound);
}

TEST(PostedWritesArgs, BadArgumentsAreRefused) {
  Rig rig;
  EventFd e;
  PostedArgs args = Doorbell(e);
  args.address = 0;
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, args).status().code(),
            absl::StatusCode::kInvalidArgument);
  args = Doorbell(e);
  args.fd = 0;  // stdin, not an eventfd
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, args).status().code(),
            absl::StatusCode::kInvalidArgument);
  args = Doorbell(e);
  args.type = kTypePciCfg;
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, args).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).ok());
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).status().code(),
            absl::StatusCode::kAlreadyExists);
  // A descriptor that matches data and one that matches any value overlap,
  // whichever was assigned first.
  PostedArgs matching = Doorbell(e);
  matching.match_data = 1;
  matching.data = 5;
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, matching).status().code(),
            absl::StatusCode::kAlreadyExists);
  PostedArgs any_value = Doorbell(e);
  any_value.address = kDoorbell + 16;
  matching.address = kDoorbell + 16;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, matching).ok());
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, any_value).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Two that match data conflict on an equal value only.
  PostedArgs five = Doorbell(e);
  five.address = kDoorbell + 24;
  five.match_data = 1;
  five.data = 5;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, five).ok());
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, five).status().code(),
            absl::StatusCode::kAlreadyExists);
  PostedArgs six = five;
  six.data = 6;
  EXPECT_TRUE(rig.hsm.AssignPosted(rig.vm, six).ok());
  ASSERT_TRUE(rig.hsm.SetPostedRing(rig.vm, nullptr).ok());
  EventFd other;
  PostedArgs elsewhere = Doorbell(other);
  elsewhere.address = kDoorbell + 8;
  EXPECT_EQ(rig.hsm.AssignPosted(rig.vm, elsewhere).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The table on its own refuses a cookie it never gave (the HSM asks the
// hypervisor first, which refuses it too).
TEST(PostedWritesArgs, AnUnknownCookieIsNotFound) {
  PostedWrites table;
  EXPECT_EQ(table.Deassign(12345).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(table.HasEntries());
}

// The table keeps its own copy of the eventfd. Where the process has no fd
// left for that copy, the assignment is refused (RESOURCE_EXHAUSTED) and
// nothing is kept: once an fd is free, the same address is assigned.
TEST(PostedWritesArgs, NoFdLeftForTheCopyIsRefused) {
  PostedWrites table;
  EventFd e;
  absl::StatusOr<uint64_t> refused;
  {
    testing::NoFreeFds none;
    ASSERT_TRUE(none.ok());
    refused = table.Assign(Doorbell(e));
  }
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_TRUE(table.Assign(Doorbell(e)).ok());  // not AlreadyExists
  EXPECT_EQ(table.Assign(Doorbell(e)).status().code(),
            absl::StatusCode::kAlreadyExists);
}

// A hostile hypervisor's ring: unknown cookies are counted and dropped, a
// corrupt header is counted and not read, and the hypervisor's next
// matching write takes a slot instead.
TEST(PostedWritesHostile, RingContentsAreInput) {
  Rig rig;
  EventFd e;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).ok());
  PostedRing& ring = *rig.hv.posted_ring(rig.vm);
  ASSERT_EQ(PutPosted(ring, 0xBAD), PutResult::kPut);
  ASSERT_TRUE(rig.hsm.DrainPosted(rig.vm).ok());
  EXPECT_EQ(rig.hsm.stats().posted_unknown, 1u);
  EXPECT_EQ(e.Take(), 0u);

  ring.header.tail = 4090;  // out of range and misaligned
  ASSERT_TRUE(rig.hsm.DrainPosted(rig.vm).ok());
  EXPECT_EQ(rig.hsm.stats().posted_corrupt, 1u);
  ASSERT_TRUE(rig.Access(MmioWrite(kDoorbell, 4, 1)).ok());
  EXPECT_EQ(rig.hv.stats().posted_corrupt, 1u);
  EXPECT_EQ(rig.hv.stats().inserted, 1u);
}

// The drain signals as the kernel's eventfd_signal() does: a cookie whose
// eventfd is a blocking one with a full counter does not hold the drain; it
// is not counted as signalled, and the next drain, with room, signals.
TEST(PostedWritesFull, AFullBlockingEventfdDoesNotHoldTheDrain) {
  testing::FullEventfd full;
  ASSERT_TRUE(full.ok());
  Rig rig;
  PostedArgs args;
  args.type = kTypeMmio;
  args.address = kDoorbell;
  args.fd = static_cast<uint32_t>(full.fd());
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, args).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioWrite(kDoorbell, 4, 1), false).ok());
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());
  EXPECT_TRUE(full.ReturnsWithoutWaiting(
      [&] { EXPECT_TRUE(rig.hsm.DrainPosted(rig.vm).ok()); }));
  EXPECT_EQ(rig.hsm.stats().posted_signaled, 0u);
  EXPECT_EQ(full.Take(), testing::FullEventfd::kFull);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioWrite(kDoorbell, 4, 2), false).ok());
  ASSERT_TRUE(rig.hv.WaitForCompletion(rig.vm, 0, absl::Seconds(1)).ok());
  ASSERT_TRUE(rig.hsm.DrainPosted(rig.vm).ok());
  EXPECT_EQ(rig.hsm.stats().posted_signaled, 1u);
  EXPECT_EQ(full.Take(), 1u);
}

// A full ring holds the vCPU until the HSM drains, then every write is
// signalled once.
TEST(PostedWritesFull, VcpuWaitsForRoomThenNothingIsLost) {
  Rig rig;
  EventFd e;
  ASSERT_TRUE(rig.hsm.AssignPosted(rig.vm, Doorbell(e)).ok());
  constexpr int kWrites = kPostedEntries + 100;
  std::thread vcpu([&] {
    for (int i = 0; i < kWrites; ++i) {
      ASSERT_TRUE(rig.hv.EmulateAccess(rig.vm, 0, MmioWrite(kDoorbell, 4, i),
                                       false, absl::Seconds(5))
                      .ok());
    }
  });
  uint64_t signals = 0;
  while (signals < static_cast<uint64_t>(kWrites)) {
    absl::SleepFor(absl::Milliseconds(2));
    ASSERT_TRUE(rig.hsm.DrainPosted(rig.vm).ok());
    signals += e.Take();
  }
  vcpu.join();
  EXPECT_EQ(signals, static_cast<uint64_t>(kWrites));
  EXPECT_EQ(rig.hsm.stats().posted_signaled, static_cast<uint64_t>(kWrites));
}

INSTANTIATE_TEST_SUITE_P(Topologies, PostedWritesTest,
                         ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);

}  // namespace
}  // namespace ioreq
