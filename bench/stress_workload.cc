#include "bench/stress_workload.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/device_model.h"
#include "core/notify/strategy.h"
#include "core/devices/mmio_bar.h"
#include "core/devices/pci_config_space.h"
#include "core/devices/uart16550.h"
#include "core/cf8cfc.h"

namespace bench {
namespace {

using ioreq::IoAccess;

constexpr uint16_t kUartBase = 0x3F8;
constexpr uint64_t kBarBase = 0xE0000000;
constexpr uint64_t kBarSize = 0x10000;
constexpr uint64_t kVcpuWindow = kBarSize / ioreq::kIoRequestMax;
constexpr size_t kShadowBytes = 256;  // of each vCPU's window it checks
constexpr uint64_t kDoorbell = 0xD0000000;
constexpr uint64_t kUnclaimedPort = 0x80;
constexpr uint32_t kScratchDev = 4;   // 00:04.0, the test device
constexpr uint32_t kScratchBase = 0x40;
constexpr size_t kMaxProblems = 8;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

uint32_t ConfigAddress(uint32_t bus, uint32_t dev, uint32_t func,
                       uint32_t reg, bool enable = true) {
  return (enable ? ioreq::kPciConfigEnable : 0) | (bus << 16) | (dev << 11) |
         (func << 8) | (reg & 0xFC);
}

struct PciId {
  uint32_t bus, dev, func, id;
};
// What the standard devices answer at register 0, and one absent function.
constexpr std::array<PciId, 5> kPciIds = {{
    {0, 0, 0, 0x12378086},
    {0, 3, 0, 0x10001AF4},
    {0, 4, 0, 0x00051B36},
    {1, 0, 0, 0x10011AF4},
    {0, 7, 0, 0xFFFFFFFF},
}};

// One VM's devices, and what the vCPUs sent to them.
template <typename Bell>
struct VmRig {
  uint16_t vmid = 0;
  ioreq::Uart16550 uart{kUartBase};
  std::vector<std::unique_ptr<ioreq::MmioBar>> bars;
  ioreq::PciConfigSpace pci;
  std::unique_ptr<ioreq::BasicDeviceModelThread<Bell>> device_model;
  int doorbell_fd = -1;
  std::mutex config_cycle;  // the guest's pci_config_lock
  std::atomic<uint64_t> thr_bytes{0}, thr_sum{0}, doorbell_writes{0};

  ~VmRig() {
    if (doorbell_fd >= 0) close(doorbell_fd);
  }
};

// One vCPU thread's load and what it found.
template <typename Bell>
class VcpuLoad {
 public:
  VcpuLoad(ioreq::BasicHypervisor<Bell>* hv, VmRig<Bell>* vm, uint32_t vcpu,
           const StressConfig& config, uint64_t quota)
      : hv_(hv), vm_(vm), vcpu_(vcpu), config_(config), quota_(quota),
        rng_(config.seed * 0x9E3779B97F4A7C15ull + vm->vmid * 64 + vcpu),
        shadow_(static_cast<size_t>(config.clients)) {}

  void Run(absl::Time deadline);

  LatencyHistogram histogram;
  uint64_t issued = 0, completed = 0, lost = 0, wrong = 0;
  std::vector<std::string> problems;

 private:
  // One trapped access; false when it was lost (the vCPU stops).
  bool Issue(const IoAccess& access, uint64_t* value = nullptr);
  void Expect(const char* what, uint64_t got, uint64_t want);
  void Problem(std::string text) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(text));
  }
  uint64_t Size() { return uint64_t{1} << (rng_() % 4); }

  bool MmioWrite();
  bool MmioRead();
  bool UartStatus();
  bool UartTransmit();
  bool PciIdRead();
  bool PciScratch();
  bool PciDisabled();
  bool DoorbellWrite();
  bool DoorbellRead();
  bool Unclaimed();

  ioreq::BasicHypervisor<Bell>* const hv_;
  VmRig<Bell>* const vm_;
  const uint32_t vcpu_;
  const StressConfig& config_;
  const uint64_t quota_;
  std::mt19937_64 rng_;
  std::vector<std::array<uint8_t, kShadowBytes>> shadow_;  // per BAR
  uint32_t scratch_ = 0;  // this vCPU's PCI scratch register
  absl::Time load_start_;
};

template <typename Bell>
void VcpuLoad<Bell>::Expect(const char* what, uint64_t got, uint64_t want) {
  if (got == want) return;
  ++wrong;
  Problem(absl::StrFormat("VM %u vCPU %u: %s read 0x%x, expected 0x%x",
                          vm_->vmid, vcpu_, what, got, want));
}

template <typename Bell>
bool VcpuLoad<Bell>::Issue(const IoAccess& access, uint64_t* value) {
  absl::Time start = absl::Now();
  if (config_.offered_rate_per_vcpu > 0) {
    // The schedule, not the last completion, says when this request is due;
    // a late request's wait counts in its latency.
    const absl::Time intended =
        load_start_ + absl::Seconds(static_cast<double>(issued) /
                                    config_.offered_rate_per_vcpu);
    if (intended > start) absl::SleepFor(intended - start);
    start = intended;
  }
  ++issued;
  absl::StatusOr<uint64_t> got = hv_->EmulateAccess(
      vm_->vmid, vcpu_, access, config_.polling, config_.completion_timeout);
  const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - start);
  if (!got.ok()) {
    ++lost;
    Problem(absl::StrFormat("VM %u vCPU %u: %s", vm_->vmid, vcpu_,
                            got.status().ToString()));
    return false;
  }
  ++completed;
  histogram.Record(static_cast<uint64_t>(ns < 0 ? 0 : ns));
  if (value != nullptr) *value = *got;
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::MmioWrite() {
  const size_t bar = rng_() % shadow_.size();
  const uint64_t size = Size();
  const uint64_t offset = (rng_() % kShadowBytes) & ~(size - 1);
  const uint64_t value = rng_() & ioreq::SizeMask(size);
  for (uint64_t i = 0; i < size; ++i) {
    shadow_[bar][offset + i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return Issue(ioreq::MmioWrite(
      kBarBase + bar * kBarSize + vcpu_ * kVcpuWindow + offset, size, value));
}

template <typename Bell>
bool VcpuLoad<Bell>::MmioRead() {
  const size_t bar = rng_() % shadow_.size();
  const uint64_t size = Size();
  const uint64_t offset = (rng_() % kShadowBytes) & ~(size - 1);
  uint64_t want = 0;
  for (uint64_t i = 0; i < size; ++i) {
    want |= uint64_t{shadow_[bar][offset + i]} << (8 * i);
  }
  uint64_t got = 0;
  if (!Issue(ioreq::MmioRead(
                 kBarBase + bar * kBarSize + vcpu_ * kVcpuWindow + offset,
                 size),
             &got)) {
    return false;
  }
  Expect("BAR", got, want);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::UartStatus() {
  uint64_t got = 0;
  if (!Issue(ioreq::PortRead(kUartBase + 5, 1), &got)) return false;
  Expect("UART LSR", got,
         ioreq::Uart16550::kLsrThrEmpty | ioreq::Uart16550::kLsrTxEmpty);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::UartTransmit() {
  const uint8_t byte = static_cast<uint8_t>(rng_());
  if (!Issue(ioreq::PortWrite(kUartBase, 1, byte))) return false;
  vm_->thr_bytes.fetch_add(1, std::memory_order_relaxed);
  vm_->thr_sum.fetch_add(byte, std::memory_order_relaxed);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::PciIdRead() {
  const PciId& d = kPciIds[rng_() % kPciIds.size()];
  const bool device_id = rng_() % 2;  // reg 2, size 2 via port 0xCFE
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  if (!Issue(ioreq::PortWrite(ioreq::kPciConfigAddressPort, 4,
                              ConfigAddress(d.bus, d.dev, d.func, 0)))) {
    return false;
  }
  uint64_t got = 0;
  const uint64_t port = ioreq::kPciConfigDataPort + (device_id ? 2 : 0);
  if (!Issue(ioreq::PortRead(port, device_id ? 2 : 4), &got)) return false;
  Expect("PCI ID", got, device_id ? d.id >> 16 : d.id);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::PciScratch() {
  const uint32_t reg = kScratchBase + 4 * vcpu_;
  const bool write = rng_() % 2;
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  if (!Issue(ioreq::PortWrite(ioreq::kPciConfigAddressPort, 4,
                              ConfigAddress(0, kScratchDev, 0, reg)))) {
    return false;
  }
  if (write) {
    scratch_ = static_cast<uint32_t>(rng_());
    return Issue(ioreq::PortWrite(ioreq::kPciConfigDataPort, 4, scratch_));
  }
  const uint64_t byte = rng_() % 4;  // one byte of it, via 0xCFC + byte
  uint64_t got = 0;
  if (!Issue(ioreq::PortRead(ioreq::kPciConfigDataPort + byte, 1), &got)) {
    return false;
  }
  Expect("PCI scratch", got, (scratch_ >> (8 * byte)) & 0xFF);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::PciDisabled() {
  std::lock_guard<std::mutex> cycle(vm_->config_cycle);
  if (!Issue(ioreq::PortWrite(ioreq::kPciConfigAddressPort, 4,
                              ConfigAddress(0, 3, 0, 0, /*enable=*/false)))) {
    return false;
  }
  const uint64_t size = uint64_t{1} << (rng_() % 3);
  uint64_t got = 0;
  if (!Issue(ioreq::PortRead(ioreq::kPciConfigDataPort, size), &got)) {
    return false;
  }
  Expect("disabled config cycle", got, ioreq::SizeMask(size));
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::DoorbellWrite() {
  if (!Issue(ioreq::MmioWrite(kDoorbell, 4, rng_() & 0xFFFFFFFF))) return false;
  vm_->doorbell_writes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::DoorbellRead() {
  uint64_t got = 1;
  if (!Issue(ioreq::MmioRead(kDoorbell, 4), &got)) return false;
  Expect("ioeventfd", got, 0);
  return true;
}

template <typename Bell>
bool VcpuLoad<Bell>::Unclaimed() {
  uint64_t got = 0;
  if (!Issue(ioreq::PortRead(kUnclaimedPort, 1), &got)) return false;
  Expect("unclaimed port", got, 0xFF);
  return true;
}

template <typename Bell>
void VcpuLoad<Bell>::Run(absl::Time deadline) {
  // Weights of the access mix, out of 100.
  using Op = bool (VcpuLoad::*)();
  static constexpr std::array<std::pair<int, Op>, 10> kMix =
      {{{30, &VcpuLoad::MmioWrite},
        {30, &VcpuLoad::MmioRead},
        {5, &VcpuLoad::UartStatus},
        {5, &VcpuLoad::UartTransmit},
        {8, &VcpuLoad::PciIdRead},
        {8, &VcpuLoad::PciScratch},
        {3, &VcpuLoad::PciDisabled},
        {5, &VcpuLoad::DoorbellWrite},
        {3, &VcpuLoad::DoorbellRead},
        {3, &VcpuLoad::Unclaimed}}};
  const bool timed = config_.seconds > 0;
  load_start_ = absl::Now();
  while (timed ? absl::Now() < deadline : issued < quota_) {
    int pick = static_cast<int>(rng_() % 100);
    // A configuration cycle takes up to 3 requests: near the end of the
    // quota only single-request accesses are picked, so that exactly
    // `quota_` requests are issued.
    if (!timed && quota_ - issued < 3) pick %= 60;  // the two BAR accesses
    for (const auto& [weight, op] : kMix) {
      if (pick < weight) {
        if (!(this->*op)()) return;  // lost: this vCPU is stuck
        break;
      }
      pick -= weight;
    }
  }
}

std::string Join(const std::vector<std::string>& items) {
  return absl::StrJoin(items, ", ");
}

template <typename Bell>
absl::StatusOr<StressResult> RunStressWith(const StressConfig& config,
                                           ioreq::Topology topology);

}  // namespace

const std::vector<std::string>& StressStrategies() {
  return ioreq::StrategyNames();
}

absl::Status ValidateStressConfig(const StressConfig& c) {
  auto bad = [](const char* flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: accepts %s", flag, value, what));
  };
  bool known = false;
  for (const std::string& s : StressStrategies()) known |= s == c.strategy;
  if (!known) {
    return bad("strategy", c.strategy,
               absl::StrCat("one of: ", Join(StressStrategies())).c_str());
  }
  if (!ioreq::ParseTopology(c.topology).ok()) {
    return bad("topology", c.topology, "one of: kernel, direct");
  }
  if (c.vms < 1 || c.vms > 64) return bad("vms", absl::StrCat(c.vms), "1 to 64");
  if (c.vcpus < 1 || c.vcpus > ioreq::kIoRequestMax) {
    return bad("vcpus", absl::StrCat(c.vcpus), "1 to 16");
  }
  if (c.clients < 1 || c.clients > 64) {
    return bad("clients", absl::StrCat(c.clients), "1 to 64");
  }
  if (c.requests < 1) {
    return bad("requests", absl::StrCat(c.requests), "a count of 1 or more");
  }
  if (!(c.seconds >= 0 && c.seconds <= 86400)) {
    return bad("seconds", absl::StrCat(c.seconds), "0 to 86400 (0: use --requests)");
  }
  if (!(c.offered_rate_per_vcpu >= 0 && c.offered_rate_per_vcpu <= 1e7)) {
    return bad("rate", absl::StrCat(c.offered_rate_per_vcpu),
               "requests per second per vCPU, 0 (closed loop) to 1e7");
  }
  if (c.completion_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("completion timeout must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<StressResult> RunStress(const StressConfig& config) {
  if (absl::Status valid = ValidateStressConfig(config); !valid.ok()) {
    return valid;
  }
  const ioreq::Strategy strategy = *ioreq::ParseStrategy(config.strategy);
  if (absl::Status s = ioreq::CheckStrategySupported(strategy); !s.ok()) {
    return s;
  }
  const ioreq::Topology topology = *ioreq::ParseTopology(config.topology);
  return ioreq::WithStrategy(strategy, [&](auto tag) {
    return RunStressWith<typename decltype(tag)::type>(config, topology);
  });
}

namespace {

template <typename Bell>
absl::StatusOr<StressResult> RunStressWith(const StressConfig& config,
                                           ioreq::Topology topology) {
  // Declared in this order so that the HSM goes first, then the hypervisor,
  // then the devices its clients call.
  std::vector<std::unique_ptr<VmRig<Bell>>> rigs;
  ioreq::BasicHypervisor<Bell> hv;
  ioreq::HsmOptions options;
  options.topology = topology;
  ioreq::BasicHsm<Bell> hsm(&hv, options);
  hv.SetUpcallHandler(
      [&hsm](uint16_t vmid, uint32_t vcpu) { hsm.Upcall(vmid, vcpu); });

  for (int v = 0; v < config.vms; ++v) {
    auto rig = std::make_unique<VmRig<Bell>>();
    absl::StatusOr<uint16_t> vmid = hv.CreateVm(config.vcpus);
    if (!vmid.ok()) return vmid.status();
    rig->vmid = *vmid;
    absl::Status s = hsm.CreateVm(rig->vmid, config.vcpus);
    if (s.ok()) s = hsm.SetIoreqBuffer(rig->vmid, hv.shared_page(rig->vmid));
    if (!s.ok()) return s;

    absl::StatusOr<ioreq::ClientId> uart =
        hsm.CreateClient(rig->vmid, "uart", rig->uart.Handler(), false);
    if (!uart.ok()) return uart.status();
    s = hsm.AddRange(*uart, ioreq::kTypePortIo, rig->uart.base(),
                     rig->uart.last());
    if (!s.ok()) return s;
    for (int b = 0; b < config.clients; ++b) {
      rig->bars.push_back(
          std::make_unique<ioreq::MmioBar>(kBarBase + b * kBarSize, kBarSize));
      absl::StatusOr<ioreq::ClientId> bar = hsm.CreateClient(
          rig->vmid, absl::StrCat("bar", b), rig->bars.back()->Handler(), false);
      if (!bar.ok()) return bar.status();
      s = hsm.AddRange(*bar, ioreq::kTypeMmio, rig->bars.back()->base(),
                       rig->bars.back()->last());
      if (!s.ok()) return s;
    }
    rig->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (rig->doorbell_fd < 0) return absl::InternalError("eventfd() failed");
    ioreq::IoeventfdArgs doorbell{};
    doorbell.fd = static_cast<uint32_t>(rig->doorbell_fd);
    doorbell.addr = kDoorbell;
    doorbell.len = 4;
    s = hsm.Ioeventfd(rig->vmid, doorbell);
    if (!s.ok()) return s;
    rig->pci.AddStandardDevices();
    rig->device_model = std::make_unique<ioreq::BasicDeviceModelThread<Bell>>(
        &hsm, rig->vmid, rig->pci.DefaultDeviceModel());
    s = rig->device_model->Start();
    if (!s.ok()) return s;
    rigs.push_back(std::move(rig));
  }

  const uint64_t total_vcpus = static_cast<uint64_t>(config.vms) * config.vcpus;
  const uint64_t share = static_cast<uint64_t>(config.requests) / total_vcpus;
  const uint64_t extra = static_cast<uint64_t>(config.requests) % total_vcpus;
  std::vector<std::unique_ptr<VcpuLoad<Bell>>> loads;
  for (auto& rig : rigs) {
    for (int v = 0; v < config.vcpus; ++v) {
      const uint64_t quota = share + (loads.size() < extra ? 1 : 0);
      loads.push_back(std::make_unique<VcpuLoad<Bell>>(&hv, rig.get(), v,
                                                       config, quota));
    }
  }

  const double cpu_start = CpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time deadline =
      start + absl::Microseconds(static_cast<int64_t>(config.seconds * 1e6));
  std::vector<std::thread> threads;
  for (auto& load : loads) {
    threads.emplace_back([&load, deadline] { load->Run(deadline); });
  }
  std::atomic<bool> load_done{false};
  std::thread noise;
  if (config.spurious_wakeups) {
    noise = std::thread([&] {
      std::mt19937_64 rng(config.seed);
      // Pairs with the release store after the vCPU threads are joined.
      while (!load_done.load(std::memory_order_acquire)) {
        for (auto& rig : rigs) {
          hsm.Upcall(rig->vmid);
          hv.NotifyRequestFinish(rig->vmid, rng() % config.vcpus).IgnoreError();
        }
        absl::SleepFor(absl::Microseconds(200));
      }
    });
  }
  for (auto& t : threads) t.join();
  load_done.store(true, std::memory_order_release);
  if (noise.joinable()) noise.join();
  StressResult result;
  result.elapsed_s = absl::ToDoubleSeconds(absl::Now() - start);
  result.cpu_s = CpuSeconds() - cpu_start;

  for (const auto& load : loads) {
    result.issued += load->issued;
    result.completed += load->completed;
    result.lost += load->lost;
    result.wrong_value += load->wrong;
    result.round_trip_ns.Merge(load->histogram);
    for (const std::string& p : load->problems) {
      if (result.problems.size() < kMaxProblems) result.problems.push_back(p);
    }
  }

  // Writes must have reached their devices.
  for (auto& rig : rigs) {
    rig->device_model->Stop();
    const uint64_t sent = rig->thr_bytes.load();
    if (rig->uart.tx_bytes() != sent || rig->uart.tx_sum() != rig->thr_sum.load()) {
      result.undelivered_writes += sent > rig->uart.tx_bytes()
                                       ? sent - rig->uart.tx_bytes()
                                       : rig->uart.tx_bytes() - sent;
      result.problems.push_back(absl::StrFormat(
          "VM %u: UART got %u bytes, vCPUs sent %u", rig->vmid,
          rig->uart.tx_bytes(), sent));
    }
    uint64_t signals = 0;
    if (read(rig->doorbell_fd, &signals, sizeof(signals)) != sizeof(signals)) {
      signals = 0;
    }
    const uint64_t kicks = rig->doorbell_writes.load();
    if (signals != kicks) {
      result.undelivered_writes += signals > kicks ? signals - kicks : kicks - signals;
      result.problems.push_back(absl::StrFormat(
          "VM %u: eventfd counted %u signals, vCPUs wrote the doorbell %u times",
          rig->vmid, signals, kicks));
    }
  }

  result.hsm = hsm.stats();
  result.hypervisor = hv.stats();
  result.syscalls = hsm.syscalls() + hv.syscalls();
  // Every completion the HSM published was taken by its vCPU exactly once;
  // one more means a request completed twice. (When a request was lost its
  // late completion is not a duplicate, so the balance is not taken.)
  if (result.lost == 0 && result.hsm.completed > result.hypervisor.completed) {
    result.duplicated += result.hsm.completed - result.hypervisor.completed;
  }
  result.duplicated += result.hypervisor.insert_refused;
  result.duplicated += result.hsm.spurious_completions;
  if (result.duplicated > 0) {
    result.problems.push_back(absl::StrFormat(
        "%u duplicated completions (HSM completed %u, vCPUs took %u, "
        "inserts refused %u, spurious %u)",
        result.duplicated, result.hsm.completed, result.hypervisor.completed,
        result.hypervisor.insert_refused, result.hsm.spurious_completions));
  }
  return result;
}

}  // namespace

std::string StressJson(const StressConfig& c, const StressResult& r) {
  const ioreq::HsmStats& h = r.hsm;
  return absl::StrFormat(
      "{\"strategy\": \"%s\", \"topology\": \"%s\", \"vms\": %d, \"vcpus\": %d, \"clients\": %d, "
      "\"polling\": %s, \"seed\": %u, \"issued\": %u, \"completed\": %u, "
      "\"lost\": %u, \"duplicated\": %u, \"wrong_value\": %u, "
      "\"undelivered_writes\": %u, \"p50_ns\": %u, \"p99_ns\": %u, "
      "\"p999_ns\": %u, \"max_ns\": %u, \"requests_per_s\": %.1f, "
      "\"cpu_ns_per_request\": %.1f, \"syscalls_per_request\": %.3f, "
      "\"elapsed_s\": %.3f, "
      "\"hsm\": {\"dispatch_passes\": %u, \"dispatched\": %u, "
      "\"completed\": %u, \"cf8cfc_in_place\": %u, \"cf8cfc_converted\": %u, "
      "\"rejected_invalid\": %u, \"no_client\": %u, "
      "\"spurious_completions\": %u, \"handler_errors\": %u}, "
      "\"notifications\": %u, \"ok\": %s}",
      c.strategy, c.topology, c.vms, c.vcpus, c.clients,
      c.polling ? "true" : "false",
      c.seed, r.issued, r.completed, r.lost, r.duplicated, r.wrong_value,
      r.undelivered_writes, r.round_trip_ns.Percentile(50),
      r.round_trip_ns.Percentile(99), r.round_trip_ns.Percentile(99.9),
      r.round_trip_ns.max(), r.requests_per_s(), r.cpu_ns_per_request(),
      r.syscalls_per_request(), r.elapsed_s, h.dispatch_passes, h.dispatched, h.completed,
      h.cf8cfc_in_place, h.cf8cfc_converted, h.rejected_invalid, h.no_client,
      h.spurious_completions, h.handler_errors, r.hypervisor.notifications,
      r.clean() ? "true" : "false");
}

std::string StressText(const StressConfig& c, const StressResult& r) {
  std::string out = absl::StrFormat(
      "ioreq stress: strategy %s, topology %s, %d VM(s) x %d vCPU(s), "
      "%d BAR client(s), %s completion, seed %u\n",
      c.strategy, c.topology, c.vms, c.vcpus, c.clients,
      c.polling ? "polling" : "notified", c.seed);
  absl::StrAppendFormat(
      &out,
      "  requests   issued %u, completed %u, lost %u, duplicated %u, "
      "wrong value %u, undelivered writes %u\n",
      r.issued, r.completed, r.lost, r.duplicated, r.wrong_value,
      r.undelivered_writes);
  absl::StrAppendFormat(
      &out, "  round trip p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
      r.round_trip_ns.Percentile(50) / 1e3, r.round_trip_ns.Percentile(99) / 1e3,
      r.round_trip_ns.Percentile(99.9) / 1e3, r.round_trip_ns.max() / 1e3);
  absl::StrAppendFormat(
      &out,
      "  throughput %.0f requests/s over %.2f s; CPU %.0f ns/request; "
      "%.2f syscalls/request\n",
      r.requests_per_s(), r.elapsed_s, r.cpu_ns_per_request(),
      r.syscalls_per_request());
  absl::StrAppendFormat(
      &out,
      "  HSM        %u passes, %u dispatched, %u PCI cycles folded, %u "
      "completed in place\n",
      r.hsm.dispatch_passes, r.hsm.dispatched, r.hsm.cf8cfc_converted,
      r.hsm.cf8cfc_in_place);
  for (const std::string& p : r.problems) absl::StrAppend(&out, "  PROBLEM: ", p, "\n");
  absl::StrAppend(&out, r.clean() ? "  result     OK: every request completed "
                                    "exactly once with the right value\n"
                                  : "  result     FAILED\n");
  return out;
}

}  // namespace bench
