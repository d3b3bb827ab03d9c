#include "core/harness/emulated_hypervisor.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
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

// [posted] The hypervisor's side of posted writes: a descriptor names a VM
// that is there, a deassign takes exactly the descriptor its cookie names,
// and an access is posted only when its type, address and (where asked)
// data match, and, outside the `acrn` profile, only when it is a write.
// Every other access takes a slot as usual: a PCI configuration access is
// never posted (ACRN posts port and MMIO writes only).
TEST(EmulatedHypervisor, PostsOnlyTheWritesADescriptorMatches) {
  EmulatedHypervisor hv;
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/6).value();
  const uint16_t no_vm = vm + 1;
  PostedDescriptor any_value;
  any_value.type = kTypePortIo;
  any_value.address = 0x500;
  any_value.cookie = 11;
  PostedDescriptor seven;
  seven.type = kTypePortIo;
  seven.address = 0x600;
  seven.match_data = true;
  seven.data = 7;
  seven.cookie = 12;
  EXPECT_EQ(hv.AssignPosted(no_vm, seven).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.DeassignPosted(no_vm, 12).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.HandledInHypervisor(no_vm).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(hv.AssignPosted(vm, any_value).ok());
  ASSERT_TRUE(hv.AssignPosted(vm, seven).ok());
  EXPECT_EQ(hv.DeassignPosted(vm, 99).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(hv.DeassignPosted(vm, 11).ok());
  EXPECT_EQ(hv.DeassignPosted(vm, 11).code(), absl::StatusCode::kNotFound);

  auto slot_state = [&](uint32_t vcpu) {
    return LoadStateAcquire(hv.shared_page(vm)->slots[vcpu]);
  };
  // The deassigned descriptor posts nothing; the other one still posts.
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortWrite(0x500, 1, 1), false).ok());
  EXPECT_EQ(slot_state(0), kStatePending);
  ASSERT_TRUE(hv.InsertRequest(vm, 1, PortWrite(0x600, 1, 6), false).ok());
  EXPECT_EQ(slot_state(1), kStatePending);  // not its data
  ASSERT_TRUE(hv.InsertRequest(vm, 2, PortWrite(0x601, 1, 7), false).ok());
  EXPECT_EQ(slot_state(2), kStatePending);  // not its address
  ASSERT_TRUE(hv.InsertRequest(vm, 3, PortRead(0x600, 1), false).ok());
  EXPECT_EQ(slot_state(3), kStatePending);  // a read must have a value
  IoAccess config = PortWrite(0x600, 1, 7);  // the descriptor's address
  config.type = kTypePciCfg;
  ASSERT_TRUE(hv.InsertRequest(vm, 5, config, false).ok());
  EXPECT_EQ(slot_state(5), kStatePending);  // not a port or MMIO access
  EXPECT_EQ(hv.stats().posted, 0u);
  ASSERT_TRUE(hv.InsertRequest(vm, 4, PortWrite(0x600, 1, 7), false).ok());
  EXPECT_EQ(slot_state(4), kStateFree);
  EXPECT_EQ(hv.stats().posted, 1u);
  EXPECT_EQ(hv.stats().inserted, 5u);
}

// A wait needs a request to wait for: a vCPU with none in flight is refused
// at once, not left to wait on a FREE slot until its timeout.
TEST(EmulatedHypervisor, AWaitWithNoRequestInFlightIsRefused) {
  EmulatedHypervisor hv;
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/1).value();
  const absl::Time start = absl::Now();
  EXPECT_EQ(hv.WaitForCompletion(vm, 0, absl::Seconds(5)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

// One request at a time: a vCPU whose wait timed out still has its request
// in flight, and traps nothing more until it takes or abandons it. The
// refusal counts no insert and no refusal of a slot, and forgets nothing: a
// reset still waits for that request, and the slot still holds it.
TEST(EmulatedHypervisor, AnInsertWhileARequestIsInFlightIsRefusedAndKeepsIt) {
  EmulatedHypervisor hv;
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/1).value();
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), false).ok());
  ASSERT_EQ(hv.WaitForCompletion(vm, 0, absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  const absl::Status again = hv.InsertRequest(vm, 0, PortRead(0x70, 1), false);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(again.message(), "still in flight"))
      << again.message();
  EXPECT_EQ(hv.stats().inserted, 1u);
  EXPECT_EQ(hv.stats().insert_refused, 0u);
  const IoRequest& slot = hv.shared_page(vm)->slots[0];
  EXPECT_EQ(LoadStateAcquire(slot), kStatePending);
  EXPECT_EQ(DecodeAccess(slot).address, 0x60u) << "overwritten";
  // Paused, the vCPU is refused at once too (it does not wait for a resume
  // that a reset waiting for its request would never see).
  ASSERT_TRUE(hv.PauseVm(vm).ok());
  EXPECT_EQ(hv.InsertRequest(vm, 0, PortRead(0x70, 1), false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(hv.ResetVm(vm).code(), absl::StatusCode::kDeadlineExceeded)
      << "a reset that did not wait for the request in flight";
  ASSERT_TRUE(hv.AbandonRequest(vm, 0).ok());
  ASSERT_TRUE(hv.ResetVm(vm).ok());
  ASSERT_TRUE(hv.ResumeVm(vm).ok());
  EXPECT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x70, 1), false).ok());
}

// A vCPU that traps while its VM is paused (as before a reset, [hv-reset])
// sleeps until the resume: it inserts nothing before, and does not spin.
TEST(EmulatedHypervisor, AVcpuOfAPausedVmSleepsUntilTheResume) {
  EmulatedHypervisor hv;
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/1).value();
  ASSERT_TRUE(hv.PauseVm(vm).ok());
  std::atomic<int64_t> cpu_ns{-1};
  std::atomic<bool> inserted{false};
  std::thread vcpu([&] {
    ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), false).ok());
    inserted.store(true);
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    cpu_ns.store(int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec);
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(inserted.load());
  EXPECT_EQ(hv.stats().inserted, 0u);
  ASSERT_TRUE(hv.ResumeVm(vm).ok());
  vcpu.join();
  EXPECT_EQ(hv.stats().inserted, 1u);
  // A spinning vCPU would have burnt most of the half second.
  EXPECT_LT(cpu_ns.load(), absl::ToInt64Nanoseconds(absl::Milliseconds(100)));
}

// A polling vCPU's wait ends at its timeout too, though it never sleeps on
// its doorbell. Nobody completes the request; if the wait ran on, the test
// completes the slot itself so that the waiter can end.
TEST(EmulatedHypervisor, APolledWaitEndsAtItsTimeout) {
  EmulatedHypervisor hv;
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/1).value();
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), /*polling=*/true).ok());
  constexpr absl::Duration kTimeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  std::future<absl::StatusOr<uint64_t>> waiter = std::async(
      std::launch::async, [&] { return hv.WaitForCompletion(vm, 0, kTimeout); });
  if (waiter.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "a polled wait ran 10 s past its 300 ms timeout";
    StoreStateRelease(hv.shared_page(vm)->slots[0], kStateComplete);
  }
  EXPECT_EQ(waiter.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, kTimeout);
}

// A hypervisor holds kMaxVms VMs, ids 0 to kMaxVms - 1: one more is
// refused, and an id past the table names no VM (it is not read).
TEST(EmulatedHypervisor, HoldsAtMostItsLimitOfVms) {
  EmulatedHypervisor hv(Strategy::kSpin);  // no file descriptor per vCPU
  for (size_t i = 0; i < EmulatedHypervisor::kMaxVms; ++i) {
    ASSERT_EQ(hv.CreateVm(/*vcpu_num=*/1).value(), i);
  }
  EXPECT_EQ(hv.CreateVm(/*vcpu_num=*/1).status().code(),
            absl::StatusCode::kResourceExhausted);
  const uint16_t last = EmulatedHypervisor::kMaxVms - 1;
  EXPECT_TRUE(hv.InsertRequest(last, 0, PortRead(0x60, 1), false).ok());
  EXPECT_EQ(hv.syscalls(), 0u);  // a spinning doorbell makes none
  for (const uint16_t past : {static_cast<uint16_t>(EmulatedHypervisor::kMaxVms),
                              static_cast<uint16_t>(0xFFFF)}) {
    EXPECT_EQ(hv.InsertRequest(past, 0, PortRead(0x60, 1), false).code(),
              absl::StatusCode::kNotFound)
        << past;
    EXPECT_EQ(hv.HandledInHypervisor(past).status().code(),
              absl::StatusCode::kNotFound)
        << past;
  }
}

// A notified vCPU's wait ends at its timeout, once: a timeout shorter than
// the rescan interval is one wait, not that wait and then a whole timeout
// counted from its end. Nobody completes the request here.
TEST(EmulatedHypervisor, AWaitShorterThanTheRescanEndsAtItsTimeout) {
  EmulatedHypervisor hv(Strategy::kFutex, /*completion_rescan=*/absl::Seconds(60));
  const uint16_t vm = hv.CreateVm(/*vcpu_num=*/1).value();
  EXPECT_EQ(hv.WaitForCompletion(vm + 1, 0, absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(hv.InsertRequest(vm, 0, PortRead(0x60, 1), /*polling=*/false).ok());
  constexpr absl::Duration kTimeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  EXPECT_EQ(hv.WaitForCompletion(vm, 0, kTimeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, kTimeout);
  EXPECT_LT(waited, kTimeout * 7 / 4);  // twice the timeout is the bug
  // The vCPU slept on its doorbell, and the count sees that vCPU's calls.
  EXPECT_GT(hv.syscalls(), 0u);
  EXPECT_TRUE(hv.AbandonRequest(vm, 0).ok());
  EXPECT_EQ(hv.AbandonRequest(vm + 1, 0).code(), absl::StatusCode::kNotFound);
  // The slot still holds the abandoned request: the next access on the
  // vCPU is refused by its insert, and says why (not a wait's error).
  const absl::Status again =
      hv.EmulateAccess(vm, 0, PortRead(0x61, 1), false, absl::Seconds(1)).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(again.message(), "not FREE")) << again;
  // Every call naming a VM or a vCPU that is not there is refused.
  EXPECT_EQ(hv.PauseVm(vm + 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.ResumeVm(vm + 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.ResetVm(vm + 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.NotifyRequestFinish(vm + 1, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.NotifyRequestFinish(vm, 1).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ioreq
