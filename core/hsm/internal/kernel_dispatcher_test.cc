// The kernel topology's dispatcher (core/hsm/internal/kernel_dispatcher.h):
// its thread, where it runs and when it sleeps, a pass's lock, and which
// passes count as rescans. Its routing is hsm_test's.
#include "core/hsm/internal/kernel_dispatcher.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/harness/manual_rig.h"
#include "core/harness/system.h"
#include "core/hsm/hsm_test_peer.h"
#include "core/notify/testing/asleep.h"
#include "core/placement/placement.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

HsmOptions Kernel() {
  HsmOptions options;
  options.topology = Topology::kKernel;
  return options;
}

// The dispatcher's thread, found by its name. A thread joined a moment ago
// (an earlier test's dispatcher) may still be listed while it exits.
pid_t DispatcherThread() {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::vector<pid_t> named = ThreadsNamed("hsm-dispatcher");
  while (named.size() != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
    named = ThreadsNamed("hsm-dispatcher");
  }
  EXPECT_EQ(named.size(), 1u);
  return named.size() == 1 ? named[0] : 0;
}

// A client that answers every port read in 0x60..0x6F.
ClientId AddPortClient(System& system, uint16_t vm) {
  const ClientId c = *system.hsm.CreateClient(
      vm, "ports",
      [](IoAccess& access) {
        access.value = 0x5A;
        return absl::OkStatus();
      },
      false);
  EXPECT_TRUE(system.hsm.AddRange(c, kTypePortIo, 0x60, 0x6F).ok());
  return c;
}

// HsmOptions::thread_cpus: the dispatcher runs only where it is pinned.
TEST(KernelDispatcher, ItsThreadIsPinnedToTheCpusItIsGiven) {
  for (int cpu : AllowedCpus()) {
    HsmOptions options = Kernel();
    options.thread_cpus = {cpu};
    System system(Strategy::kFutex, options);
    const pid_t dispatcher = DispatcherThread();
    ASSERT_NE(dispatcher, 0);
    // The thread pins itself first thing; the request's round trip is a
    // pass of its loop, so by its end the thread has pinned itself.
    const uint16_t vm = *system.AddVm(1);
    AddPortClient(system, vm);
    ASSERT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                       absl::Seconds(10)),
              0x5Au);
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(sched_getaffinity(dispatcher, sizeof(set), &set), 0);
    EXPECT_EQ(CPU_COUNT(&set), 1) << "CPU " << cpu;
    EXPECT_TRUE(CPU_ISSET(cpu, &set)) << "CPU " << cpu;
  }
}

// HsmOptions::service_poll is armed by a pass that handed a request over,
// and only by one: after an upcall or a rescan that found nothing, the
// dispatcher sleeps at once instead of polling for the window.
TEST(KernelDispatcher, APassThatHandsNothingOverArmsNoPoll) {
  HsmOptions options = Kernel();
  options.service_poll = absl::Seconds(20);  // a poll would outlast the look
  options.rescan_interval = absl::Milliseconds(30);
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(1);
  AddPortClient(system, vm);
  const pid_t dispatcher = DispatcherThread();
  ASSERT_NE(dispatcher, 0);
  // Rescans that find nothing.
  while (system.hsm.stats().rescans < 3) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(AwaitAsleep(dispatcher, SYS_futex, absl::Seconds(10)))
      << "polling after a rescan that handed nothing over";
  // An upcall for a slot that holds nothing.
  const uint64_t passes = system.hsm.stats().dispatch_passes;
  system.hsm.Upcall(vm, 0);
  while (system.hsm.stats().dispatch_passes == passes) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(AwaitAsleep(dispatcher, SYS_futex, absl::Seconds(10)))
      << "polling after an upcall that handed nothing over";
  EXPECT_EQ(system.hsm.stats().dispatched, 0u);
}

// ...and a pass that handed a request over arms it, whether an upcall or a
// rescan started it: the dispatcher polls for the next upcall instead of
// sleeping (the window outlasts the look). Its upcall doorbell counts the
// sleeps it took; a look at /proc cannot tell that sleep from a moment's
// wait on a lock taken in the poll (the clock's, inside Abseil), and read
// one as the other on a loaded machine.
TEST(KernelDispatcher, APassThatHandsARequestOverArmsThePoll) {
  for (bool by_rescan : {false, true}) {
    SCOPED_TRACE(by_rescan ? "a rescan" : "an upcall");
    HsmOptions options = Kernel();
    options.service_poll = absl::Seconds(20);
    options.rescan_interval =
        by_rescan ? absl::Milliseconds(30) : absl::InfiniteDuration();
    System system(Strategy::kFutex, options);
    const uint16_t vm = *system.AddVm(1);
    AddPortClient(system, vm);
    const pid_t dispatcher = DispatcherThread();
    ASSERT_NE(dispatcher, 0);
    const auto upcall_calls = [&] {
      return HsmTestPeer::Engine(system.hsm).syscalls();  // the dispatcher's
    };
    uint64_t before = 0;   // the upcall doorbell's calls before the look
    uint64_t allowed = 0;  // and the calls the look may see made
    if (by_rescan) {
      // A request whose upcall never came: written PENDING by hand.
      IoRequest& slot = system.hv.shared_page(vm)->slots[0];
      EncodeAccess(PortRead(0x60, 1), slot);
      StoreStateRelease(slot, kStatePending);
      while (system.hsm.stats().rescued_by_rescan == 0) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      // Unarmed, the dispatcher would sleep again for every 30 ms rescan.
      before = upcall_calls();
    } else {
      // Asleep for the upcall, its sleep counted: the vCPU's ring is one
      // wake, and an unarmed dispatcher's next sleep one call more.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (upcall_calls() == 0 && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      ASSERT_EQ(upcall_calls(), 1u) << "the first sleep";
      before = 1;
      allowed = 1;
      ASSERT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                         absl::Seconds(10)),
                0x5Au);
    }
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_EQ(upcall_calls() - before, allowed)
        << "asleep within the poll's window";
  }
}

// [rescan] A pass an upcall started is no rescan, though it runs the same
// scan: with rescans off, requests that arrive with their upcalls count
// none, and none as rescued.
TEST(KernelDispatcher, PassesUpcallsStartAreNotRescans) {
  HsmOptions options = Kernel();
  options.rescan_interval = absl::InfiniteDuration();
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(1);
  AddPortClient(system, vm);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(*system.hv.EmulateAccess(vm, 0, PortRead(0x60, 1), false,
                                       absl::Seconds(10)),
              0x5Au);
  }
  EXPECT_EQ(system.hsm.stats().dispatched, 5u);
  EXPECT_EQ(system.hsm.stats().rescans, 0u);
  EXPECT_EQ(system.hsm.stats().rescued_by_rescan, 0u);
}

// [pause] ioreq_resume() queues the dispatcher's work; it does not route on
// the resuming thread. A request that came while paused is handed over by
// the dispatcher's own thread.
TEST(KernelDispatcher, ResumeRoutesOnTheDispatchersThread) {
  HsmOptions options = Kernel();
  options.rescan_interval = absl::InfiniteDuration();
  std::atomic<pid_t> routed_on{0};
  options.on_dispatched = [&routed_on](uint16_t, uint32_t) {
    routed_on.store(gettid());
  };
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(1);
  AddPortClient(system, vm);
  const pid_t dispatcher = DispatcherThread();
  system.hsm.Pause();
  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, PortRead(0x60, 1), false).ok());
  system.hsm.Resume();
  EXPECT_EQ(*system.hv.WaitForCompletion(vm, 0, absl::Seconds(10)), 0x5Au);
  EXPECT_EQ(routed_on.load(), dispatcher);
  EXPECT_NE(routed_on.load(), gettid());
}

// ioreq_clients_lock: a pass routes a PENDING request under the VM's
// clients lock (a range edit or a client's destruction cannot move under
// it), so a pass waits while another thread holds that lock.
TEST(KernelDispatcher, APassRoutesUnderTheClientsLock) {
  testing::ManualRig rig(/*vcpus=*/1, testing::ManualOptions(Topology::kKernel));
  const ClientId c = rig.AddConstantClient("ports", 0x5A);
  ASSERT_TRUE(rig.hsm.AddRange(c, kTypePortIo, 0x60, 0x6F).ok());
  ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, PortRead(0x60, 1), true).ok());
  hsm_internal::VmState& vm =
      **HsmTestPeer::Context(rig.hsm).registry.FindVm(rig.vm);
  std::unique_lock<std::mutex> held(vm.clients_mu);
  std::future<void> pass =
      std::async(std::launch::async, [&rig] { rig.hsm.Dispatch(); });
  EXPECT_EQ(pass.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout)
      << "the pass routed without the clients lock";
  EXPECT_EQ(rig.State(0), kStatePending);
  held.unlock();
  pass.get();
  EXPECT_EQ(rig.State(0), kStateProcessing);
  EXPECT_EQ(*rig.hsm.PendingBitmap(c), 0b1u);
}

}  // namespace
}  // namespace ioreq
