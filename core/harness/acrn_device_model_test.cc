// A device model written to ACRN's contract (scan for PROCESSING &&
// !kernel_handled) beside in-process clients [kernel-handled]: it must see
// every request that is its own and never one an in-process client holds,
// in both topologies, with ACRN's hypervisor leaving a stale
// kernel_handled in every slot.
#include "core/harness/acrn_device_model.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "core/harness/system.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

constexpr uint64_t kBarBase = 0xE0000000;   // in-process clients' ranges
constexpr uint64_t kBarSize = 0x1000;
constexpr uint64_t kDmPort = 0x3F8;         // no range: the device model's

HsmOptions Manual(Topology topology) {
  HsmOptions options;
  options.topology = topology;
  options.run_threads = false;
  options.check_range_index = true;
  return options;
}

class AcrnDeviceModelTest : public ::testing::TestWithParam<Topology> {};

// Deterministic: on a fresh page (kernel_handled 0: ACRN's hypervisor never
// writes it), and after the device model served vCPU 0 (0, which the kernel
// leaves and ACRN's insert too), a request routed to an in-process client
// must not look like the device model's at any point the scan can see. The
// direct topology marks every slot 1 when it is given the page, and the slot
// back to 1 when the device model's hold ends, so that its claims need not
// mark it.
TEST_P(AcrnDeviceModelTest, StaleKernelHandledIsNeverSeenByTheScan) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(1).value();
  SharedPage* page = system.hv.shared_page(vm);
  std::vector<uint64_t> dm_saw;
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 1, [&](IoAccess& a) {
    dm_saw.push_back(a.address);
    if (a.direction == kDirRead) a.value = 0x11;
    return absl::OkStatus();
  });
  // Not started: the test scans by hand. The client must exist, though.
  const ClientId dm_client =
      system.hsm.CreateClient(vm, "dm", [](IoAccess&) { return absl::OkStatus(); },
                              true)
          .value();
  int bar_calls = 0;
  const ClientId bar =
      system.hsm
          .CreateClient(vm, "bar",
                        [&](IoAccess& a) {
                          ++bar_calls;
                          // The holder sees its request marked the kernel's.
                          EXPECT_EQ(LoadKernelHandledAcquire(page->slots[0]), 1u);
                          a.value = 0x22;
                          return absl::OkStatus();
                        },
                        false)
          .value();
  ASSERT_TRUE(system.hsm.AddRange(bar, kTypeMmio, kBarBase, kBarBase + kBarSize - 1).ok());

  auto serve_bar = [&](uint32_t kernel_handled_while_pending) {
    ASSERT_TRUE(
        system.hv.InsertRequest(vm, 0, MmioRead(kBarBase, 4), false).ok());
    EXPECT_EQ(page->slots[0].kernel_handled, kernel_handled_while_pending);
    system.hsm.Dispatch();
    EXPECT_EQ(LoadStateAcquire(page->slots[0]), kStateProcessing);
    EXPECT_EQ(dm.ScanOnce(), 0);  // the in-process client's, not the DM's
    ASSERT_TRUE(system.hsm.ServeClient(bar).ok());
    absl::StatusOr<uint64_t> got =
        system.hv.WaitForCompletion(vm, 0, absl::Seconds(5));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, 0x22u);
  };
  const uint32_t fresh = GetParam() == Topology::kDirect ? 1u : 0u;
  serve_bar(/*kernel_handled_while_pending=*/fresh);

  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, PortRead(kDmPort, 1), false).ok());
  system.hsm.Dispatch();
  ASSERT_EQ(dm.ScanOnce(), 1);
  absl::StatusOr<uint64_t> got = system.hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0x11u);
  const uint32_t after_dm = GetParam() == Topology::kDirect ? 1u : 0u;
  EXPECT_EQ(page->slots[0].kernel_handled, after_dm);

  serve_bar(/*kernel_handled_while_pending=*/after_dm);
  EXPECT_EQ(bar_calls, 2);
  ASSERT_EQ(dm_saw.size(), 1u);
  EXPECT_EQ(dm.stats().finish_refused, 0u);
  (void)dm_client;
}

// A scan that stalls between the state and the owner of a slot: it reads
// PROCESSING of an in-process client's request, and by the time it reads
// kernel_handled that request has completed and the vCPU's next one, the
// device model's, has been routed (kernel_handled 0). The scan takes the new
// request, and must see it as the hypervisor wrote it: routing's store of
// kernel_handled is a release that the scan's read acquires. The two threads
// meet through relaxed flags only, so under ThreadSanitizer (the CI's TSan
// pass) a relaxed store of kernel_handled reads as a race on the slot, as
// it did once in the stress command's `acrn` run.
TEST_P(AcrnDeviceModelTest, AScanThatStallsReadsTheNextRequestWhole) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(1).value();
  SharedPage* page = system.hv.shared_page(vm);
  std::vector<IoAccess> dm_saw;
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 1, [&](IoAccess& a) {
    dm_saw.push_back(a);
    if (a.direction == kDirRead) a.value = 0x11;
    return absl::OkStatus();
  });
  ASSERT_TRUE(system.hsm.CreateClient(vm, "dm", nullptr, true).ok());
  const ClientId bar =
      system.hsm
          .CreateClient(vm, "bar",
                        [](IoAccess& a) {
                          a.value = 0x22;
                          return absl::OkStatus();
                        },
                        false)
          .value();
  ASSERT_TRUE(system.hsm.AddRange(bar, kTypeMmio, kBarBase, kBarBase + kBarSize - 1).ok());
  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, MmioRead(kBarBase, 4), false).ok());
  system.hsm.Dispatch();
  ASSERT_EQ(LoadStateAcquire(page->slots[0]), kStateProcessing);

  // Relaxed on purpose: nothing but the slot may order the two threads.
  std::atomic<bool> scan{false}, stalled{false}, resume{false};
  dm.set_after_processing_seen([&](uint32_t) {
    stalled.store(true, std::memory_order_relaxed);
    while (!resume.load(std::memory_order_relaxed)) std::this_thread::yield();
  });
  int emulated = -1;
  std::thread scanner([&] {
    while (!scan.load(std::memory_order_relaxed)) std::this_thread::yield();
    emulated = dm.ScanOnce();
  });
  scan.store(true, std::memory_order_relaxed);
  while (!stalled.load(std::memory_order_relaxed)) std::this_thread::yield();
  // Under the stalled scan: the in-process client's request ends, and the
  // vCPU's next, a port read no range claims, is routed to the device model.
  ASSERT_TRUE(system.hsm.ServeClient(bar).ok());
  absl::StatusOr<uint64_t> got = system.hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0x22u);
  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, PortRead(kDmPort, 2), false).ok());
  system.hsm.Dispatch();
  resume.store(true, std::memory_order_relaxed);
  scanner.join();

  EXPECT_EQ(emulated, 1);
  ASSERT_EQ(dm_saw.size(), 1u);
  EXPECT_EQ(dm_saw[0].type, kTypePortIo);
  EXPECT_EQ(dm_saw[0].address, kDmPort);
  EXPECT_EQ(dm_saw[0].size, 2u);
  EXPECT_EQ(dm.stats().finish_refused, 0u);
  got = system.hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0x11u);
}

// A request the hypervisor rewrote after routing into one no rule accepts
// (a port access of 3 bytes): ACRN's device model exits on it; the model's
// answers all-ones without calling its handler, and finishes it, so the
// vCPU is not left waiting.
TEST_P(AcrnDeviceModelTest, AnInvalidRequestIsAnsweredAllOnes) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(1).value();
  SharedPage* page = system.hv.shared_page(vm);
  int calls = 0;
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 1, [&](IoAccess& a) {
    ++calls;
    a.value = 0x11;
    return absl::OkStatus();
  });
  ASSERT_TRUE(system.hsm.CreateClient(vm, "dm", nullptr, true).ok());
  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, PortRead(kDmPort, 4), false).ok());
  system.hsm.Dispatch();
  ASSERT_EQ(LoadStateAcquire(page->slots[0]), kStateProcessing);
  page->slots[0].reqs.pio_request.size = 3;
  ASSERT_EQ(dm.ScanOnce(), 1);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(dm.stats().unknown_type, 1u);
  EXPECT_EQ(dm.stats().finish_refused, 0u);
  EXPECT_EQ(LoadStateAcquire(page->slots[0]), kStateComplete);
  EXPECT_EQ(RequestValue(page->slots[0]), 0xFFFFFFFFu);  // pio_request.value: 32 bits
}

// What a hypervisor that writes the page behind the HSM's back leaves: a
// request for the device model (no range, kernel_handled 0), PROCESSING,
// which no dispatch made.
void WriteDeviceModelsRequestBehindTheHsm(IoRequest& slot) {
  EncodeAccess(PortRead(kDmPort, 1), slot);
  slot.kernel_handled = 0;
  StoreStateRelease(slot, kStateProcessing);
}

// ACRN's device model scans the slots of its vCPUs only, and counts every
// scan; a slot past them is not its to read, whatever its state says.
TEST_P(AcrnDeviceModelTest, ScansOnlyItsVcpusSlots) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(2).value();
  SharedPage* page = system.hv.shared_page(vm);
  int calls = 0;
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 2, [&](IoAccess&) {
    ++calls;
    return absl::OkStatus();
  });
  ASSERT_TRUE(system.hsm.CreateClient(vm, "dm", nullptr, true).ok());
  // Slot 2, one past the VM's two vCPUs, written as a request for the
  // device model by a hypervisor that should not have.
  WriteDeviceModelsRequestBehindTheHsm(page->slots[2]);
  EXPECT_EQ(dm.ScanOnce(), 0);
  EXPECT_EQ(dm.ScanOnce(), 0);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(dm.stats().scans, 2u);
  EXPECT_EQ(dm.stats().emulated, 0u);
}

// A slot the hypervisor wrote PROCESSING without the HSM routing it: the
// device model emulates it (it reads the page, as ACRN's does) and the HSM
// refuses its finish, since the device model holds no such request; the
// refusal is counted, and the slot is not completed.
TEST_P(AcrnDeviceModelTest, AFinishTheHsmRefusesIsCounted) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(1).value();
  SharedPage* page = system.hv.shared_page(vm);
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 1, [&](IoAccess& a) {
    a.value = 0x11;
    return absl::OkStatus();
  });
  ASSERT_TRUE(system.hsm.CreateClient(vm, "dm", nullptr, true).ok());
  WriteDeviceModelsRequestBehindTheHsm(page->slots[0]);
  EXPECT_EQ(dm.ScanOnce(), 1);
  EXPECT_EQ(dm.stats().finish_refused, 1u);
  EXPECT_EQ(LoadStateAcquire(page->slots[0]), kStateProcessing);
}

// A reset that begins while a scan is under way: the scan still emulates
// the request it is on (the value lands in the slot), but leaves the
// notify to the reset's clear, which runs once the scan has ended, as
// ACRN's device model does while a VM is resetting.
TEST_P(AcrnDeviceModelTest, AResetDuringAScanLeavesTheFinishToTheClear) {
  System system(Strategy::kEventfd, Manual(GetParam()), Profile::kAcrn);
  const uint16_t vm = system.AddVm(1).value();
  SharedPage* page = system.hv.shared_page(vm);
  std::thread resetter;
  std::atomic<uint32_t> state_at_reset{~0u};
  AcrnDeviceModelThread* dm_ptr = nullptr;
  AcrnDeviceModelThread dm(&system.hsm, vm, page, 1, [&](IoAccess& a) {
    // The reset starts now, on another thread: marked resetting at once,
    // it then waits for this scan to end.
    resetter = std::thread([&] {
      EXPECT_TRUE(dm_ptr->ResetVm([&] {
                          state_at_reset.store(LoadStateAcquire(page->slots[0]));
                          // What the clear does for the device model's request.
                          return system.hsm.NotifyRequestFinish(vm, 0);
                        })
                      .ok());
    });
    while (!dm_ptr->resetting()) std::this_thread::yield();
    a.value = 0x11;
    return absl::OkStatus();
  });
  dm_ptr = &dm;
  ASSERT_TRUE(system.hsm.CreateClient(vm, "dm", nullptr, true).ok());
  ASSERT_TRUE(system.hv.InsertRequest(vm, 0, PortRead(kDmPort, 1), false).ok());
  system.hsm.Dispatch();
  ASSERT_EQ(LoadStateAcquire(page->slots[0]), kStateProcessing);
  EXPECT_EQ(dm.ScanOnce(), 1);
  resetter.join();
  EXPECT_EQ(state_at_reset.load(), kStateProcessing);  // the scan did not finish it
  EXPECT_EQ(dm.stats().postponed, 1u);
  EXPECT_EQ(dm.stats().finish_refused, 0u);
  absl::StatusOr<uint64_t> got = system.hv.WaitForCompletion(vm, 0, absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0x11u);
}

// Concurrent: vCPU threads, in-process client threads and the device
// model's scanning thread; the device model must emulate exactly the
// requests no range owns, and its every finish must be accepted.
TEST_P(AcrnDeviceModelTest, ScanNeverTakesAnInProcessRequest) {
  HsmOptions options;
  options.topology = GetParam();
  constexpr uint32_t kVcpus = 4;
  constexpr int kClients = 3;
  constexpr int kPerVcpu = 3000;
  System system(Strategy::kFutex, options, Profile::kAcrn);
  const uint16_t vm = system.AddVm(kVcpus).value();
  SharedPage* page = system.hv.shared_page(vm);
  std::atomic<uint64_t> dm_calls{0}, dm_wrong{0}, client_calls{0};
  AcrnDeviceModelThread dm(&system.hsm, vm, page, kVcpus, [&](IoAccess& a) {
    dm_calls.fetch_add(1);
    if (a.type == kTypeMmio) dm_wrong.fetch_add(1);
    if (a.direction == kDirRead) a.value = 0x5A;
    return absl::OkStatus();
  });
  ASSERT_TRUE(dm.Start().ok());
  for (int c = 0; c < kClients; ++c) {
    const ClientId id =
        system.hsm
            .CreateClient(vm, absl::StrFormat("bar%d", c),
                          [&, c](IoAccess& a) {
                            client_calls.fetch_add(1);
                            if (a.direction == kDirRead) a.value = 0x100 + c;
                            return absl::OkStatus();
                          },
                          false)
            .value();
    const uint64_t base = kBarBase + c * kBarSize;
    ASSERT_TRUE(system.hsm.AddRange(id, kTypeMmio, base, base + kBarSize - 1).ok());
  }
  std::atomic<uint64_t> wrong_values{0}, failures{0}, to_dm{0};
  std::vector<std::thread> vcpus;
  for (uint32_t v = 0; v < kVcpus; ++v) {
    vcpus.emplace_back([&, v] {
      std::mt19937 rng(v);
      for (int i = 0; i < kPerVcpu; ++i) {
        const bool bar = rng() % 2;
        const int c = rng() % kClients;
        const IoAccess access = bar ? MmioRead(kBarBase + c * kBarSize, 4)
                                    : PortRead(kDmPort, 1);
        if (!bar) to_dm.fetch_add(1);
        absl::StatusOr<uint64_t> got =
            system.hv.EmulateAccess(vm, v, access, false, absl::Seconds(10));
        if (!got.ok()) {
          failures.fetch_add(1);
          return;
        }
        if (*got != (bar ? 0x100u + c : 0x5Au)) wrong_values.fetch_add(1);
      }
    });
  }
  for (auto& t : vcpus) t.join();
  dm.Stop();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(wrong_values.load(), 0u);
  EXPECT_EQ(dm_wrong.load(), 0u) << "the scan took an in-process request";
  EXPECT_EQ(dm_calls.load(), to_dm.load());
  EXPECT_EQ(client_calls.load(), kVcpus * kPerVcpu - to_dm.load());
  const AcrnDeviceModelStats s = dm.stats();
  EXPECT_EQ(s.finish_refused, 0u);
  EXPECT_EQ(s.emulated, to_dm.load());
  EXPECT_EQ(system.hv.stats().released_without_value, 0u);
}

INSTANTIATE_TEST_SUITE_P(Topologies, AcrnDeviceModelTest,
                         ::testing::ValuesIn(kAllTopologies),
                         [](const ::testing::TestParamInfo<Topology>& info) {
                           return std::string(TopologyName(info.param));
                         });

}  // namespace
}  // namespace ioreq
