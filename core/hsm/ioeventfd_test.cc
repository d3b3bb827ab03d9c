// [ioeventfd] Assign, deassign and the handler, end to end through the HSM.
#include "core/hsm/ioeventfd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/hsm/hsm.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/abi/slot_state.h"
#include "core/harness/manual_rig.h"
#include "gtest/gtest.h"
#include "tools/testing/full_eventfd.h"
#include "tools/testing/no_free_fds.h"

namespace ioreq {
namespace {

using testing::ManualRig;

class EventFd {
 public:
  EventFd() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~EventFd() { close(fd_); }
  uint32_t fd() const { return static_cast<uint32_t>(fd_); }
  // Reads and resets the counter; 0 when nothing was signalled.
  uint64_t Take() {
    uint64_t v = 0;
    return read(fd_, &v, sizeof(v)) == sizeof(v) ? v : 0;
  }

 private:
  int fd_;
};

IoeventfdArgs Args(uint32_t fd, uint64_t addr, uint32_t len, uint32_t flags,
                   uint64_t data = 0) {
  IoeventfdArgs a{};
  a.fd = fd;
  a.addr = addr;
  a.len = len;
  a.flags = flags;
  a.data = data;
  return a;
}

// Runs one access through dispatch and the ioeventfd client; returns the
// value the vCPU got.
// The table keeps its own copy of the eventfd (the kernel takes a
// reference). Where the process has no descriptor left for that copy, the
// assignment is refused and nothing is kept: once one is free, the same
// assignment succeeds.
TEST(IoeventfdTable, NoFdLeftForTheCopyIsRefused) {
  IoeventfdTable table;
  EventFd e;
  const IoeventfdArgs args = Args(e.fd(), 0x1000, 4, 0);
  absl::StatusOr<IoRange> refused;
  {
    testing::NoFreeFds none;
    ASSERT_TRUE(none.ok());
    refused = table.Assign(args);
  }
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.Assign(args).ok());
  EXPECT_EQ(table.size(), 1u);
}

// A matching write to an eventfd whose counter is full (a process wrote
// 2^64 - 2 into it) loses that signal and returns: the kernel's
// eventfd_signal() saturates the counter, it never waits. The handler is
// the ioeventfd client's thread, which a retried write would hold for ever.
TEST(IoeventfdTable, AFullCounterLosesTheSignalWithoutWaiting) {
  IoeventfdTable table;
  EventFd e;  // non-blocking
  ASSERT_TRUE(table.Assign(Args(e.fd(), 0xF000, 4, 0)).ok());
  const uint64_t full = 0xFFFFFFFFFFFFFFFEull;
  ASSERT_EQ(write(static_cast<int>(e.fd()), &full, sizeof(full)),
            static_cast<ssize_t>(sizeof(full)));
  IoAccess write_access = MmioWrite(0xF000, 4, 1);
  EXPECT_TRUE(table.Handle(write_access).ok());
  EXPECT_EQ(e.Take(), full);  // left as it was
  IoAccess next = MmioWrite(0xF000, 4, 1);
  EXPECT_TRUE(table.Handle(next).ok());
  EXPECT_EQ(e.Take(), 1u);  // room again: signalled
}

// A copy of an eventfd knows whether its open file is nonblocking.
TEST(CopyEventfd, ReadsTheNonblockingFlagOnce) {
  EventFd nonblocking;
  testing::FullEventfd blocking;
  ASSERT_TRUE(blocking.ok());
  absl::StatusOr<EventfdCopy> a = CopyEventfd(nonblocking.fd());
  absl::StatusOr<EventfdCopy> b =
      CopyEventfd(static_cast<uint32_t>(blocking.fd()));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->nonblocking);
  EXPECT_FALSE(b->nonblocking);
  EXPECT_NE(a->fd, static_cast<int>(nonblocking.fd()));
  close(a->fd);
  close(b->fd);
}

// SignalEventfd() adds 1 where it fits and never waits, also on an eventfd
// opened without EFD_NONBLOCK whose counter is full, where write(2) would
// wait for a reader: it answers false and leaves the count.
TEST(SignalEventfd, AddsOneOrSaturatesWithoutWaiting) {
  testing::FullEventfd full;
  ASSERT_TRUE(full.ok());
  const EventfdCopy blocking{full.fd(), /*nonblocking=*/false};
  bool signalled = true;
  EXPECT_TRUE(full.ReturnsWithoutWaiting(
      [&] { signalled = SignalEventfd(blocking); }));
  EXPECT_FALSE(signalled);
  EXPECT_EQ(full.Take(), testing::FullEventfd::kFull);
  EXPECT_TRUE(SignalEventfd(blocking));
  EXPECT_TRUE(SignalEventfd(blocking));
  EXPECT_EQ(full.Take(), 2u);
  EXPECT_FALSE(SignalEventfd(EventfdCopy{-1, false}));
  EXPECT_FALSE(SignalEventfd(EventfdCopy{-1, true}));
}

// A nonblocking eventfd is written at once: a full counter answers EAGAIN,
// and the signal is lost the same way.
TEST(SignalEventfd, ANonblockingFullCounterIsLostAtOnce) {
  EventFd e;
  const EventfdCopy copy{static_cast<int>(e.fd()), /*nonblocking=*/true};
  const uint64_t full = testing::FullEventfd::kFull;
  ASSERT_EQ(write(copy.fd, &full, sizeof(full)),
            static_cast<ssize_t>(sizeof(full)));
  EXPECT_FALSE(SignalEventfd(copy));
  EXPECT_EQ(e.Take(), full);
  EXPECT_TRUE(SignalEventfd(copy));
  EXPECT_EQ(e.Take(), 1u);
}

// The handler signals as the kernel's eventfd_signal() does: a matching
// write to a blocking eventfd whose counter is full completes at once (the
// ioeventfd client's thread serves every other request of the VM too).
TEST(IoeventfdTable, AFullBlockingEventfdDoesNotHoldTheHandler) {
  testing::FullEventfd full;
  ASSERT_TRUE(full.ok());
  IoeventfdTable table;
  ASSERT_TRUE(
      table.Assign(Args(static_cast<uint32_t>(full.fd()), 0xF000, 4, 0)).ok());
  IoAccess access = MmioWrite(0xF000, 4, 1);
  EXPECT_TRUE(full.ReturnsWithoutWaiting(
      [&] { EXPECT_TRUE(table.Handle(access).ok()); }));
  EXPECT_EQ(full.Take(), testing::FullEventfd::kFull);
  EXPECT_EQ(table.signals(), 0u);  // lost, not counted
  EXPECT_EQ(table.swallowed(), 0u);  // it matched
  IoAccess next = MmioWrite(0xF000, 4, 1);
  EXPECT_TRUE(table.Handle(next).ok());
  EXPECT_EQ(full.Take(), 1u);
  EXPECT_EQ(table.signals(), 1u);
}

// Every rule is proved on both topologies.
class Ioeventfd : public ::testing::TestWithParam<Topology> {};

uint64_t RunAccess(ManualRig& rig, const IoAccess& access, ClientId ioeventfd) {
  EXPECT_TRUE(rig.hv.InsertRequest(rig.vm, 0, access, true).ok());
  rig.hsm.Dispatch();
  EXPECT_TRUE(rig.hsm.ServeClient(ioeventfd).ok());
  return rig.hv.WaitForCompletion(rig.vm, 0, absl::Milliseconds(200)).value();
}

// The ioeventfd client is the VM's first client: id 1 in a fresh Hsm.
constexpr ClientId kIoeventfdClient = 1;

TEST_P(Ioeventfd, LengthMustBeOneTwoFourOrEight) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  for (uint32_t len : {0u, 3u, 5u, 16u}) {
    EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, len, 0)).code(),
              absl::StatusCode::kInvalidArgument)
        << len;
  }
  EXPECT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 8, 0)).ok());
}

// Only PIO and DATAMATCH are flags of an assignment; DEASSIGN makes the
// call a deassignment, and any other bit is refused.
TEST_P(Ioeventfd, FlagBitsTheUapiDoesNotDefineAreRefused) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  for (uint32_t flags : {0x8u, 0x10u, 0x80000000u}) {
    EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4, flags)).code(),
              absl::StatusCode::kInvalidArgument)
        << flags;
  }
  EXPECT_EQ(rig.hsm.ioeventfds(rig.vm)->size(), 0u);
  IoeventfdTable table;
  EXPECT_EQ(table.Assign(Args(efd.fd(), 0x1000, 4, kIoeventfdFlagDeassign))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.size(), 0u);
}

TEST_P(Ioeventfd, RangeMustNotWrap) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), ~0ull - 1, 4, 0)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(Ioeventfd, ReservedMustBeZeroAndFdAnEventfd) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  IoeventfdArgs a = Args(efd.fd(), 0x1000, 4, 0);
  a.reserved = 1;
  EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, a).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(0, 0x1000, 4, 0)).code(),
            absl::StatusCode::kInvalidArgument);  // stdin
  EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(99999, 0x1000, 4, 0)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(Ioeventfd, SameFdAddrTypeWithWildcardOrEqualDataExists) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  ASSERT_TRUE(rig.hsm
                  .Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4,
                                          kIoeventfdFlagDatamatch, 1))
                  .ok());
  // Different data: allowed.
  EXPECT_TRUE(rig.hsm
                  .Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4,
                                          kIoeventfdFlagDatamatch, 2))
                  .ok());
  // Equal data: exists.
  EXPECT_EQ(rig.hsm
                .Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4,
                                        kIoeventfdFlagDatamatch, 2))
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Wildcard against any data: exists.
  EXPECT_EQ(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4, 0)).code(),
            absl::StatusCode::kAlreadyExists);
  // An assigned wildcard against a later datamatch: exists.
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0x2000, 4, 0)).ok());
  EXPECT_EQ(rig.hsm
                .Ioeventfd(rig.vm, Args(efd.fd(), 0x2000, 4,
                                        kIoeventfdFlagDatamatch, 7))
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Same address as PIO: a different type, allowed.
  EXPECT_TRUE(rig.hsm
                  .Ioeventfd(rig.vm, Args(efd.fd(), 0x1000, 4, kIoeventfdFlagPio))
                  .ok());
}

TEST_P(Ioeventfd, MatchingWriteSignalsTheEventfd) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0xF000, 4, 0)).ok());
  RunAccess(rig, MmioWrite(0xF000, 4, 123), kIoeventfdClient);
  RunAccess(rig, MmioWrite(0xF000, 2, 7), kIoeventfdClient);  // length >= size
  EXPECT_EQ(efd.Take(), 2u);
  EXPECT_EQ(rig.hsm.ioeventfds(rig.vm)->signals(), 2u);
}

TEST_P(Ioeventfd, DatamatchSignalsOnlyOnEqualValue) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  ASSERT_TRUE(rig.hsm
                  .Ioeventfd(rig.vm, Args(efd.fd(), 0x510, 2,
                                          kIoeventfdFlagPio |
                                              kIoeventfdFlagDatamatch,
                                          0x55))
                  .ok());
  RunAccess(rig, PortWrite(0x510, 2, 0x54), kIoeventfdClient);
  EXPECT_EQ(efd.Take(), 0u);
  RunAccess(rig, PortWrite(0x510, 2, 0x55), kIoeventfdClient);
  EXPECT_EQ(efd.Take(), 1u);
  EXPECT_EQ(rig.hsm.ioeventfds(rig.vm)->swallowed(), 1u);
}

TEST_P(Ioeventfd, WriteAtAnotherAddressInsideTheRangeIsSwallowed) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0xF000, 8, 0)).ok());
  RunAccess(rig, MmioWrite(0xF004, 4, 1), kIoeventfdClient);  // addr must be equal
  EXPECT_EQ(efd.Take(), 0u);
  EXPECT_EQ(rig.hsm.ioeventfds(rig.vm)->swallowed(), 1u);
}

// The read's value field holds whatever the hypervisor left there; the
// kernel's handler stores 0 into it (reading does nothing and returns 0).
TEST_P(Ioeventfd, ReadsCompleteWithZero) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0xF000, 4, 0)).ok());
  IoAccess read = MmioRead(0xF000, 4);
  read.value = 0xDEADBEEF;
  EXPECT_EQ(RunAccess(rig, read, kIoeventfdClient), 0u);
  IoAccess port_read = PortRead(0xF000, 2);
  port_read.value = 0xBEEF;
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0xF000, 2,
                                             kIoeventfdFlagPio)).ok());
  EXPECT_EQ(RunAccess(rig, port_read, kIoeventfdClient), 0u);
  EXPECT_EQ(efd.Take(), 0u);
}

TEST_P(Ioeventfd, DeassignRemovesTheRange) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  EventFd efd;
  const ClientId dm = *rig.hsm.CreateClient(rig.vm, "dm", nullptr, true);
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(efd.fd(), 0xF000, 4, 0)).ok());
  ASSERT_TRUE(rig.hsm
                  .Ioeventfd(rig.vm, Args(efd.fd(), 0, 0, kIoeventfdFlagDeassign))
                  .ok());
  EXPECT_EQ(rig.hsm.ioeventfds(rig.vm)->size(), 0u);
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, MmioWrite(0xF000, 4, 1), true).ok());
  rig.hsm.Dispatch();
  EXPECT_EQ(*rig.hsm.PendingBitmap(dm), 1u);  // no longer the ioeventfd's
  EXPECT_EQ(rig.hsm
                .Ioeventfd(rig.vm, Args(efd.fd(), 0, 0, kIoeventfdFlagDeassign))
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_P(Ioeventfd, SignalsSurviveTheCallerClosingItsDescriptor) {
  ManualRig rig(/*vcpus=*/4, testing::ManualOptions(GetParam()));
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int reader = dup(fd);
  ASSERT_TRUE(rig.hsm.Ioeventfd(rig.vm, Args(static_cast<uint32_t>(fd), 0xF000, 4, 0)).ok());
  close(fd);
  RunAccess(rig, MmioWrite(0xF000, 4, 1), kIoeventfdClient);
  uint64_t v = 0;
  EXPECT_EQ(read(reader, &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
  EXPECT_EQ(v, 1u);
  close(reader);
}

INSTANTIATE_TEST_SUITE_P(Topologies, Ioeventfd,
                         ::testing::ValuesIn(kAllTopologies),
                         testing::TopologyParamName);

}  // namespace
}  // namespace ioreq
