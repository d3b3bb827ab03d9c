// KVM vCPUs as the producers: a guest's seeded mix of port, MMIO, PCI and
// doorbell accesses goes through the unchanged HSM, on both topologies,
// with every strategy, notified and polled. The guest checks every value
// it reads; the host checks that every access became exactly one request
// and that every write reached its device.
#include "core/harness/kvm_hypervisor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/harness/device_model.h"
#include "core/harness/devices/mmio_bar.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/devices/uart16550.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"
#include "gtest/gtest.h"
#include "guests/guest_vm.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace ioreq {
namespace {

constexpr uint32_t kUart = 0x3F8;
constexpr uint32_t kBarBase = 0xE0000000;
constexpr uint32_t kBarSize = 0x10000;
constexpr uint32_t kBars = 2;
constexpr uint32_t kDoorbell = 0xD0000000;
constexpr uint32_t kVcpus = 2;
constexpr uint32_t kAccesses = 250;  // per vCPU

using Param = std::tuple<Topology, Strategy, bool /*polling*/>;

class KvmHypervisorTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (absl::Status usable = kvm::KvmUsable(); !usable.ok()) {
      GTEST_SKIP() << usable.message();
    }
    IOREQ_SKIP_UNLESS_OFFERED(std::get<1>(GetParam()));
  }
};

TEST_P(KvmHypervisorTest, AGuestsMixThroughTheHsmIsExact) {
  const auto [topology, strategy, polling] = GetParam();
  KvmHypervisorOptions options;
  options.strategy = strategy;
  options.polling = polling;
  KvmHypervisor hv(options);
  HsmOptions hsm_options;
  hsm_options.topology = topology;
  Uart16550 uart(kUart);
  std::vector<std::unique_ptr<MmioBar>> bars;
  PciConfigSpace pci;
  pci.AddStandardDevices();
  const int doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(doorbell, 0);
  uint16_t vm = 0;
  {
    Hsm hsm(&hv, hsm_options, strategy);
    ConnectUpcall(hv, hsm);
    absl::StatusOr<uint16_t> id = CreateWiredVm(hv, hsm, kVcpus);
    ASSERT_TRUE(id.ok()) << id.status();
    vm = *id;
    ClientId uart_id = *hsm.CreateClient(vm, "uart", uart.Handler(), false);
    ASSERT_TRUE(hsm.AddRange(uart_id, kTypePortIo, uart.base(), uart.last()).ok());
    for (uint32_t b = 0; b < kBars; ++b) {
      bars.push_back(std::make_unique<MmioBar>(kBarBase + b * kBarSize, kBarSize));
      ClientId bar = *hsm.CreateClient(vm, absl::StrCat("bar", b),
                                       bars.back()->Handler(), false);
      ASSERT_TRUE(hsm.AddRange(bar, kTypeMmio, bars.back()->base(),
                               bars.back()->last()).ok());
    }
    IoeventfdArgs kick{};
    kick.fd = static_cast<uint32_t>(doorbell);
    kick.addr = kDoorbell;
    kick.len = 4;
    ASSERT_TRUE(hsm.Ioeventfd(vm, kick).ok());
    DeviceModelThread device_model(&hsm, vm, pci.DefaultDeviceModel());
    ASSERT_TRUE(device_model.Start().ok());

    guest_params params = guests::EmptyParams(GUEST_PROGRAM_MIX, kVcpus);
    params.seed = 7;
    params.iterations = kAccesses;
    params.mix = GUEST_MIX_ALL;
    params.bar_base = kBarBase;
    params.bar_count = kBars;
    params.bar_size = kBarSize;
    params.bar_window = kBarSize / 16;
    params.uart_base = kUart;
    params.doorbell = kDoorbell;
    params.unclaimed_port = 0x80;
    params.scratch_dev = 4;
    params.scratch_base = 0x40;
    ASSERT_TRUE(guests::PrepareGuest(*hv.kvm_vm(vm), params).ok());
    ASSERT_TRUE(hv.Start(vm).ok());
    const std::vector<KvmHypervisor::VcpuResult> results = hv.Join(vm);
    device_model.Stop();
    ASSERT_EQ(results.size(), kVcpus);

    uint64_t thr_bytes = 0, thr_sum = 0, kicks = 0, accesses = 0;
    for (uint32_t v = 0; v < kVcpus; ++v) {
      ASSERT_TRUE(results[v].status.ok()) << results[v].status;
      EXPECT_TRUE(results[v].stats.reported);
      EXPECT_TRUE(guests::CheckReport(*hv.kvm_vm(vm), v,
                                      results[v].stats.accesses).ok())
          << guests::CheckReport(*hv.kvm_vm(vm), v, results[v].stats.accesses);
      const guest_report r = guests::ReportOf(*hv.kvm_vm(vm), v);
      EXPECT_GT(r.checked, kAccesses / 4) << "vCPU " << v;
      EXPECT_EQ(r.relaxed, 0u);
      thr_bytes += r.thr_bytes;
      thr_sum += r.thr_sum;
      kicks += r.doorbell_writes;
      accesses += r.accesses;
    }
    // Every write reached its device, once.
    EXPECT_EQ(uart.tx_bytes(), thr_bytes);
    EXPECT_EQ(uart.tx_sum(), thr_sum);
    uint64_t signals = 0;
    ASSERT_EQ(read(doorbell, &signals, sizeof(signals)) == sizeof(signals) ||
                  kicks == 0,
              true);
    EXPECT_EQ(signals, kicks);
    // Every access was one request, and every request was completed.
    const HypervisorStats stats = hv.stats();
    EXPECT_EQ(stats.inserted, accesses);
    EXPECT_EQ(stats.completed, accesses);
    EXPECT_EQ(stats.insert_refused, 0u);
  }
  close(doorbell);
}

std::vector<Param> AllParams() {
  std::vector<Param> params;
  for (Topology t : kAllTopologies) {
    for (Strategy s : kAllStrategies) {
      params.emplace_back(t, s, false);
    }
    params.emplace_back(t, Strategy::kFutex, true);
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(
    TopologyStrategy, KvmHypervisorTest, ::testing::ValuesIn(AllParams()),
    [](const ::testing::TestParamInfo<Param>& info) {
      return absl::StrCat(TopologyName(std::get<0>(info.param)), "_",
                          StrategyName(std::get<1>(info.param)),
                          std::get<2>(info.param) ? "_polling" : "_notified");
    });

TEST(KvmHypervisor, RefusesAVmItCannotBuild) {
  if (!kvm::KvmUsable().ok()) GTEST_SKIP() << kvm::KvmUsable().message();
  KvmHypervisor hv;
  EXPECT_EQ(hv.CreateVm(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hv.CreateVm(17).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hv.Start(3).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hv.kvm_vm(3), nullptr);
}

}  // namespace
}  // namespace ioreq
