// Real exits from a real guest: every kind and size of access the guest
// makes reaches the handler as exactly one access, and what the handler
// answers is what the guest sees (the guest checks it; guests/guest.c).
#include "core/kvm/vcpu_loop.h"

#include <atomic>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"
#include "core/kvm/kvm_vm.h"
#include "gtest/gtest.h"
#include "guests/guest_vm.h"

namespace ioreq {
namespace kvm {
namespace {

constexpr uint32_t kProbePort = 0x3F8;
constexpr uint32_t kProbeMmio = 0xE0000000;

#define SKIP_WITHOUT_KVM()                                        \
  if (absl::Status usable = KvmUsable(); !usable.ok()) {          \
    GTEST_SKIP() << usable.message();                             \
  }

// The probe device: logs writes, answers reads with guest_probe_value().
struct ProbeDevice {
  struct Write {
    uint32_t type;
    uint64_t address, size, value;
    bool operator==(const Write& o) const {
      return std::tie(type, address, size, value) ==
             std::tie(o.type, o.address, o.size, o.value);
    }
  };
  std::vector<Write> writes;
  uint32_t reads = 0;
  int corrupt_read = -1;  // answer this read wrongly

  absl::Status Handle(uint32_t vcpu, IoAccess& access) {
    if (access.direction == kDirWrite) {
      writes.push_back({access.type, access.address, access.size, access.value});
      return absl::OkStatus();
    }
    access.value = guest_probe_value(static_cast<uint32_t>(access.address),
                                     static_cast<uint32_t>(access.size),
                                     reads);
    if (static_cast<int>(reads) == corrupt_read) access.value ^= 1;
    ++reads;
    return absl::OkStatus();
  }
};

struct ProbeRun {
  std::unique_ptr<KvmVm> vm;
  VcpuLoopStats stats;
  absl::Status status;
};

ProbeRun RunProbe(ProbeDevice& device) {
  ProbeRun r;
  absl::StatusOr<std::unique_ptr<KvmVm>> vm = KvmVm::Create(GUEST_MEMORY_BYTES);
  EXPECT_TRUE(vm.ok()) << vm.status();
  if (!vm.ok()) return r;
  r.vm = std::move(*vm);
  EXPECT_TRUE(r.vm->AddVcpu().ok());
  guest_params params = guests::EmptyParams(GUEST_PROGRAM_PROBE, 1);
  params.probe_port = kProbePort;
  params.probe_mmio = kProbeMmio;
  EXPECT_TRUE(guests::PrepareGuest(*r.vm, params).ok());
  r.status = RunVcpu(
      r.vm->vcpu(0), {GUEST_REPORT_PORT},
      [&](uint32_t vcpu, IoAccess& a) { return device.Handle(vcpu, a); },
      &r.stats);
  return r;
}

TEST(VcpuLoop, EveryExitKindAndSizeReachesTheHandlerOnce) {
  SKIP_WITHOUT_KVM();
  ProbeDevice device;
  ProbeRun r = RunProbe(device);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.stats.reported);
  // The guest checked every value it read, and counted what it did.
  EXPECT_TRUE(guests::CheckReport(*r.vm, 0, r.stats.accesses).ok())
      << guests::CheckReport(*r.vm, 0, r.stats.accesses);
  const guest_report report = guests::ReportOf(*r.vm, 0);
  EXPECT_EQ(report.checked, device.reads);
  EXPECT_EQ(device.reads, 3u + 4u + 4u + 2u + 3u);

  using W = ProbeDevice::Write;
  const std::vector<W> want = {
      {kTypePortIo, kProbePort, 1, 0xA1},
      {kTypePortIo, kProbePort, 2, 0xB2C3},
      {kTypePortIo, kProbePort, 4, 0xD4E5F607},
      {kTypeMmio, kProbeMmio + 0x10, 1, 0xA1},
      {kTypeMmio, kProbeMmio + 0x20, 2, 0xB2C3},
      {kTypeMmio, kProbeMmio + 0x40, 4, 0xD4E5F607},
      {kTypeMmio, kProbeMmio + 0x80, 8, 0x0123456789ABCDEFull},
      // rep outsb, rep outsw: one access per element, in order.
      {kTypePortIo, kProbePort, 1, 'I'},
      {kTypePortIo, kProbePort, 1, 'O'},
      {kTypePortIo, kProbePort, 1, 'r'},
      {kTypePortIo, kProbePort, 1, 'q'},
      {kTypePortIo, kProbePort, 2, 0x1234},
      {kTypePortIo, kProbePort, 2, 0xABCD},
      {kTypePortIo, 0xCF8, 4, 0x80001800},
  };
  EXPECT_EQ(device.writes.size(), want.size());
  for (size_t i = 0; i < std::min(want.size(), device.writes.size()); ++i) {
    EXPECT_EQ(device.writes[i], want[i])
        << "write " << i << ": type " << device.writes[i].type << " at 0x"
        << std::hex << device.writes[i].address << " size "
        << device.writes[i].size << " value 0x" << device.writes[i].value;
  }
}

TEST(VcpuLoop, AWrongValueReachesTheTestWithTheGuestsMessage) {
  SKIP_WITHOUT_KVM();
  ProbeDevice device;
  device.corrupt_read = 1;  // the 2-byte port read
  ProbeRun r = RunProbe(device);
  ASSERT_TRUE(r.status.ok()) << r.status;
  const absl::Status verdict = guests::CheckReport(*r.vm, 0, r.stats.accesses);
  EXPECT_FALSE(verdict.ok());
  EXPECT_NE(std::string(verdict.message()).find("port in at 0x3fc size 0x2"),
            std::string::npos)
      << verdict;
}

TEST(VcpuLoop, AHandlerErrorEndsTheRunWithIt) {
  SKIP_WITHOUT_KVM();
  auto vm = *KvmVm::Create(GUEST_MEMORY_BYTES);
  ASSERT_TRUE(vm->AddVcpu().ok());
  guest_params params = guests::EmptyParams(GUEST_PROGRAM_PORT_LOOP, 1);
  params.probe_port = kProbePort;
  params.iterations = 1000;
  ASSERT_TRUE(guests::PrepareGuest(*vm, params).ok());
  VcpuLoopStats stats;
  int calls = 0;
  absl::Status s = RunVcpu(
      vm->vcpu(0), {GUEST_REPORT_PORT},
      [&](uint32_t, IoAccess&) {
        return ++calls == 5 ? absl::DataLossError("device gone")
                            : absl::OkStatus();
      },
      &stats);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(stats.accesses, 5u);
}

// A VM of one vCPU about to run `code` at the guests' entry, in user mode.
std::unique_ptr<KvmVm> TinyGuest(absl::Span<const uint8_t> code) {
  auto vm = *KvmVm::Create(GUEST_MEMORY_BYTES);
  EXPECT_TRUE(vm->AddVcpu().ok());
  EXPECT_TRUE(vm->Load(GUEST_IMAGE_BASE, code).ok());
  EXPECT_TRUE(vm->WriteIdentityMap(GUEST_PAGE_TABLES).ok());
  EXPECT_TRUE(vm->vcpu(0)
                  .EnterUser64(GUEST_IMAGE_BASE, GUEST_STACK_TOP(0), 0,
                               GUEST_PAGE_TABLES)
                  .ok());
  return vm;
}

TEST(VcpuLoop, KickStopsAGuestThatNeverExits) {
  SKIP_WITHOUT_KVM();
  // jmp . at the entry point: a guest spinning without a single exit.
  const uint8_t spin[] = {0xEB, 0xFE};
  std::unique_ptr<KvmVm> vm = TinyGuest(spin);
  VcpuLoopStats stats;
  absl::Status s;
  std::thread runner([&] {
    s = RunVcpu(vm->vcpu(0), {GUEST_REPORT_PORT},
                [](uint32_t, IoAccess&) { return absl::OkStatus(); }, &stats);
  });
  absl::SleepFor(absl::Milliseconds(50));
  vm->vcpu(0).Kick();
  runner.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(stats.exits, 0u);
}

// ud2 with no IDT: the fault cannot be delivered, the vCPU triple-faults,
// and KVM reports KVM_EXIT_SHUTDOWN: an error by default, the run's OK end
// where a reset is how the guest stops (shutdown_is_done: Linux, reboot=t).
TEST(VcpuLoop, AResetEndsTheRunOnlyWhereItIsTheEnd) {
  SKIP_WITHOUT_KVM();
  for (bool shutdown_is_done : {false, true}) {
    const uint8_t ud2[] = {0x0F, 0x0B};
    std::unique_ptr<KvmVm> vm = TinyGuest(ud2);
    VcpuLoopStats stats;
    const absl::Status s = RunVcpu(
        vm->vcpu(0),
        {.report_port = GUEST_REPORT_PORT, .shutdown_is_done = shutdown_is_done},
        [](uint32_t, IoAccess&) { return absl::OkStatus(); }, &stats);
    if (shutdown_is_done) {
      EXPECT_TRUE(s.ok()) << s;
      EXPECT_TRUE(stats.shutdown);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
      EXPECT_NE(s.message().find("KVM_EXIT_SHUTDOWN"), absl::string_view::npos) << s;
      EXPECT_FALSE(stats.shutdown);
    }
  }
}

// hlt at CPL 0 (32-bit protected mode) in a VM with no interrupt
// controller in the kernel: KVM_EXIT_HLT, the run's OK end, and no access.
TEST(VcpuLoop, AHaltEndsTheRun) {
  SKIP_WITHOUT_KVM();
  auto vm = *KvmVm::Create(GUEST_MEMORY_BYTES);
  ASSERT_TRUE(vm->AddVcpu().ok());
  const uint8_t hlt[] = {0xF4};
  ASSERT_TRUE(vm->Load(GUEST_IMAGE_BASE, hlt).ok());
  ASSERT_TRUE(vm->vcpu(0).EnterProtected32(GUEST_IMAGE_BASE, 0).ok());
  VcpuLoopStats stats;
  int calls = 0;
  const absl::Status s = RunVcpu(
      vm->vcpu(0), {GUEST_REPORT_PORT},
      [&](uint32_t, IoAccess&) {
        ++calls;
        return absl::OkStatus();
      },
      &stats);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(stats.halted);
  EXPECT_FALSE(stats.reported);
  EXPECT_EQ(stats.exits, 0u);
  EXPECT_EQ(calls, 0);
}

TEST(VcpuLoop, MultipleVcpusRunTheirOwnLoops) {
  SKIP_WITHOUT_KVM();
  constexpr uint32_t kVcpus = 4;
  auto vm = *KvmVm::Create(GUEST_MEMORY_BYTES);
  for (uint32_t i = 0; i < kVcpus; ++i) ASSERT_TRUE(vm->AddVcpu().ok());
  guest_params params = guests::EmptyParams(GUEST_PROGRAM_MMIO_LOOP, kVcpus);
  params.probe_mmio = kProbeMmio;
  params.iterations = 200;
  ASSERT_TRUE(guests::PrepareGuest(*vm, params).ok());
  std::vector<VcpuLoopStats> stats(kVcpus);
  std::vector<absl::Status> status(kVcpus);
  std::vector<std::thread> threads;
  std::vector<std::atomic<uint64_t>> writes(kVcpus);
  for (uint32_t i = 0; i < kVcpus; ++i) {
    threads.emplace_back([&, i] {
      status[i] = RunVcpu(vm->vcpu(i), {GUEST_REPORT_PORT},
                          [&](uint32_t vcpu, IoAccess& a) {
                            if (a.direction == kDirWrite) ++writes[vcpu];
                            return absl::OkStatus();
                          },
                          &stats[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (uint32_t i = 0; i < kVcpus; ++i) {
    EXPECT_TRUE(status[i].ok()) << status[i];
    EXPECT_TRUE(stats[i].reported);
    EXPECT_EQ(stats[i].accesses, 400u);
    EXPECT_EQ(writes[i].load(), 200u) << "vCPU " << i;
    EXPECT_TRUE(guests::CheckReport(*vm, i, stats[i].accesses).ok());
  }
}

// Coalesced MMIO: the guest's writes to the zone make no exit; they wait in
// the ring, and DrainCoalesced() hands each one over once, in the order the
// guest made them, also where the ring wraps (two batches of 100 in a ring
// of about 170).
TEST(VcpuLoop, CoalescedWritesAreDrainedOnceInOrder) {
  SKIP_WITHOUT_KVM();
  constexpr uint32_t kDoorbell = 0xE0100000;
  constexpr uint32_t kBatch = 100;
  absl::StatusOr<std::unique_ptr<KvmVm>> vm = KvmVm::Create(GUEST_MEMORY_BYTES);
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE((*vm)->AddVcpu().ok());
  if (absl::Status s = (*vm)->AddCoalescedMmio(kDoorbell, 4096);
      s.code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << s.message();
  } else {
    ASSERT_TRUE(s.ok()) << s;
  }
  guest_params params = guests::EmptyParams(GUEST_PROGRAM_DOORBELL_LOOP, 1);
  params.iterations = kBatch;
  params.probe_port = kProbePort;
  params.doorbell = kDoorbell;
  ASSERT_TRUE(guests::PrepareGuest(**vm, params).ok());
  uint32_t exits_to_the_doorbell = 0;
  bool batch_done = false;
  const TrapHandler handler = [&](uint32_t, IoAccess& a) {
    if (a.type == kTypePortIo && a.address == kProbePort) batch_done = true;
    if (a.type == kTypeMmio && a.address == kDoorbell) ++exits_to_the_doorbell;
    return absl::OkStatus();
  };
  VcpuLoopStats stats;
  for (int batch = 0; batch < 2; ++batch) {
    batch_done = false;
    while (!batch_done) {
      absl::StatusOr<VcpuStep> step =
          StepVcpu((*vm)->vcpu(0), {GUEST_REPORT_PORT}, handler, &stats);
      ASSERT_TRUE(step.ok()) << step.status();
    }
    std::vector<uint64_t> values;
    const size_t taken =
        (*vm)->DrainCoalesced([&](uint64_t address, uint32_t len, uint64_t value) {
          EXPECT_EQ(address, kDoorbell);
          EXPECT_EQ(len, 4u);
          values.push_back(value);
        });
    EXPECT_EQ(exits_to_the_doorbell, 0u);
    ASSERT_EQ(taken, kBatch) << "batch " << batch;
    for (uint32_t i = 0; i < kBatch; ++i) EXPECT_EQ(values[i], i) << i;
    EXPECT_EQ((*vm)->DrainCoalesced([](uint64_t, uint32_t, uint64_t) {}), 0u);
  }
}

}  // namespace
}  // namespace kvm
}  // namespace ioreq
