// concurrent: real threads (vCPU producers, the dispatcher, clients, the
// device model) while the input injects garbage into slots at chosen
// points. At the end every request that was legally inserted (no garbage
// touched its slot while it was in flight) has completed exactly once, and
// no thread hangs: a watchdog fails the run after 20 s.
//
// Input: a byte for the strategy, one for vCPUs, then garbage events of
// (vCPU, offset, byte, delay). Not built under ThreadSanitizer: the garbage
// writer races with the model on purpose, as a hostile hypervisor would.
#include <fuzzer/FuzzedDataProvider.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "core/abi/abi.h"
#include "core/harness/devices/mmio_bar.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/device_model.h"
#include "core/hsm/hsm.h"
#include "core/harness/system.h"
#include "core/notify/strategy.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

constexpr int kRequestsPerVcpu = 40;

void RunWith(FuzzedDataProvider& in, Strategy strategy, Topology topology) {
  const uint32_t vcpus = in.ConsumeIntegralInRange<uint32_t>(1, 4);
  HsmOptions options;
  options.topology = topology;
  System system(strategy, options);
  EmulatedHypervisor& hv = system.hv;
  Hsm& hsm = system.hsm;
  absl::StatusOr<uint16_t> wired = system.AddVm(vcpus);
  FUZZ_CHECK(wired.ok(), "AddVm");
  const uint16_t vm = *wired;
  MmioBar bar(0xE0000000, 0x1000);
  const ClientId c = hsm.CreateClient(vm, "bar", bar.Handler(), false).value();
  FUZZ_CHECK(hsm.AddRange(c, kTypeMmio, bar.base(), bar.last()).ok(), "range");
  PciConfigSpace pci;
  pci.AddStandardDevices();
  DeviceModelThread dm(&hsm, vm, pci.DefaultDeviceModel());
  FUZZ_CHECK(dm.Start().ok(), "device model");

  struct Event {
    uint32_t vcpu;
    size_t offset;
    uint8_t byte;
    int delay_us;
  };
  std::vector<Event> events;
  while (in.remaining_bytes() >= 4 && events.size() < 32) {
    events.push_back({in.ConsumeIntegralInRange<uint32_t>(0, vcpus - 1),
                      in.ConsumeIntegralInRange<size_t>(0, sizeof(IoRequest) - 1),
                      in.ConsumeIntegral<uint8_t>(),
                      in.ConsumeIntegralInRange<int>(0, 500)});
  }

  std::vector<std::atomic<uint64_t>> hits(vcpus);
  std::atomic<bool> done{false};
  std::atomic<int> finished{0};
  std::thread watchdog([&] {
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (!done.load()) {
      FUZZ_CHECK(absl::Now() < end, "a thread hangs: %d of %u vCPUs finished",
                 finished.load(), vcpus);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  std::thread garbage([&] {
    for (const Event& e : events) {
      absl::SleepFor(absl::Microseconds(e.delay_us));
      // Counted before the write: a request that sees the count unchanged
      // after it completes was not touched.
      hits[e.vcpu].fetch_add(1, std::memory_order_seq_cst);
      auto* bytes = reinterpret_cast<uint8_t*>(&hv.shared_page(vm)->slots[e.vcpu]);
      __atomic_store_n(&bytes[e.offset], e.byte, __ATOMIC_RELAXED);
    }
  });
  std::vector<std::thread> threads;
  std::atomic<uint64_t> legal_lost{0};
  for (uint32_t v = 0; v < vcpus; ++v) {
    threads.emplace_back([&, v] {
      // The garbage count when this vCPU last knew its slot FREE and clean:
      // 0 at the start, then the count before each untouched request.
      uint64_t clean_since = 0;
      for (int i = 0; i < kRequestsPerVcpu; ++i) {
        const uint64_t before = hits[v].load(std::memory_order_seq_cst);
        const IoAccess a = (i % 3 == 0) ? PortRead(0xCFC, 4)
                                        : MmioWrite(0xE0000000 + v * 8, 8, i);
        absl::Status inserted = hv.InsertRequest(vm, v, a, i % 2 == 0);
        if (!inserted.ok()) {
          // Garbage left the slot not FREE: the hypervisor refuses, which
          // is its documented outcome; this vCPU stops. Refusing a slot no
          // garbage reached since it was last FREE would be a bug.
          FUZZ_CHECK(hits[v].load(std::memory_order_seq_cst) != clean_since,
                     "vCPU %u: insert refused into a clean slot: %s", v,
                     inserted.ToString().c_str());
          break;
        }
        absl::StatusOr<uint64_t> got = hv.WaitForCompletion(vm, v, absl::Seconds(2));
        const bool touched = hits[v].load(std::memory_order_seq_cst) != before;
        if (!got.ok()) {
          if (!touched) legal_lost.fetch_add(1);
          break;  // the slot may be wedged by garbage: stop this vCPU
        }
        if (!touched) clean_since = before;
      }
      finished.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  garbage.join();
  FUZZ_CHECK(legal_lost.load() == 0, "%llu legally inserted requests were lost",
             (unsigned long long)legal_lost.load());
  FUZZ_CHECK(hsm.stats().spurious_completions == 0 ||
                 hsm.stats().ownership_lost > 0 || !events.empty(),
             "spurious completions without garbage");
  dm.Stop();
  done.store(true);
  watchdog.join();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Topology topology = in.ConsumeBool() ? Topology::kDirect : Topology::kKernel;
  static constexpr Strategy kStrategies[] = {
      Strategy::kFutex, Strategy::kEventfd, Strategy::kAdaptive};
  RunWith(in, kStrategies[in.ConsumeIntegralInRange<int>(0, 2)], topology);
  return 0;
}
