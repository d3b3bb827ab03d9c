// concurrent: real threads (vCPU producers, the dispatcher, clients, the
// device model) while the input injects garbage into slots at chosen
// points, then the same accesses and the same garbage replayed on one
// thread beside the shadow model of the rules.
//
// The threaded run: every request that was legally inserted (no garbage
// touched its slot while it was in flight) completes, exactly once, within
// 2 s; an insert into a slot no garbage reached since it was last FREE is
// never refused; without garbage there is no spurious completion. A vCPU
// whose slot garbage touched may be wedged: it gives up after 1 ms without
// progress (AbandonRequest(), as a hypervisor resets a wedged vCPU).
//
// The replay (core/hsm/testing/lockstep.h): the same VM shape, clients and
// accesses, in rounds (every vCPU inserts, dispatch, the client and the
// device model serve, every vCPU takes), each garbage write landing in the
// round and phase its position names. After every step the whole state is
// compared with the shadow model and the invariants are asserted.
//
// Input (a RecordStream, fuzz/record_stream.h):
//   header  byte 0: bit 0 topology (0 kernel, 1 direct), bits 1-2 strategy
//                   (futex, eventfd, adaptive; mod 3)
//           byte 1: vCPUs, 1 + (byte mod 4)
//           byte 2: requests per vCPU, 1 + (byte mod 8)
//   record  (4 bytes, at most 16) one garbage write: vCPU (mod vCPUs),
//           offset in the slot, the byte, and when: after that many
//           completions (mod all requests + 1)
// Runs are bounded in steps, not wall time: the garbage writer waits for a
// completion count, not a delay. The world of each strategy, topology and
// vCPU count (hypervisor, HSM, its threads, the device model) is built once
// per process and reset between inputs (Hsm::ResetVm()).
//
// Not built under ThreadSanitizer: the garbage writer races with the model
// on purpose, as a hostile hypervisor would.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <functional>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/abi/abi.h"
#include "core/harness/device_model.h"
#include "core/harness/devices/mmio_bar.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"
#include "core/hsm/testing/lockstep.h"
#include "core/notify/strategy.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/record_stream.h"

namespace {

using namespace ioreq;

constexpr fuzz::RecordStream kStream{3, 4, 16};
constexpr uint64_t kBarBase = 0xE0000000;

struct Config {
  Topology topology = Topology::kKernel;
  Strategy strategy = Strategy::kFutex;
  uint32_t vcpus = 1;
  int requests = 1;  // per vCPU
};

struct Garbage {
  uint32_t vcpu;
  size_t offset;
  uint8_t byte;
  int after;  // completions before it is written
};

Config DecodeConfig(const uint8_t* data) {
  static constexpr Strategy kStrategies[] = {
      Strategy::kFutex, Strategy::kEventfd, Strategy::kAdaptive};
  Config c;
  c.topology = (data[0] & 1) ? Topology::kDirect : Topology::kKernel;
  c.strategy = kStrategies[((data[0] >> 1) & 3) % 3];
  c.vcpus = 1 + data[1] % 4;
  c.requests = 1 + data[2] % 8;
  return c;
}

// The i-th access of vCPU v: configuration reads through 0xCFC and writes
// to the in-process client's BAR, half of them polled.
IoAccess AccessOf(uint32_t v, int i) {
  return (i % 3 == 0) ? PortRead(0xCFC, 4) : MmioWrite(kBarBase + v * 8, 8, i);
}
bool PolledOf(int i) { return i % 2 == 0; }

// --- The threaded run ----------------------------------------------------------

struct ThreadedWorld {
  ThreadedWorld(const Config& c) : system(c.strategy, Options(c.topology)) {
    absl::StatusOr<uint16_t> wired = system.AddVm(c.vcpus);
    FUZZ_CHECK(wired.ok(), "AddVm: %s", wired.status().ToString().c_str());
    vm = *wired;
    absl::StatusOr<ClientId> c_id =
        system.hsm.CreateClient(vm, "bar", bar.Handler(), false);
    FUZZ_CHECK(c_id.ok(), "CreateClient");
    FUZZ_CHECK(system.hsm.AddRange(*c_id, kTypeMmio, bar.base(), bar.last()).ok(),
               "AddRange");
    pci.AddStandardDevices();
    dm = std::make_unique<DeviceModelThread>(&system.hsm, vm,
                                             pci.DefaultDeviceModel());
    FUZZ_CHECK(dm->Start().ok(), "device model");
  }
  static HsmOptions Options(Topology topology) {
    HsmOptions o;
    o.topology = topology;
    return o;
  }
  System system;
  uint16_t vm = 0;
  MmioBar bar{kBarBase, 0x1000};
  PciConfigSpace pci;
  std::unique_ptr<DeviceModelThread> dm;
};

ThreadedWorld& ThreadedWorldFor(const Config& c) {
  static auto* worlds =
      new std::map<std::tuple<Topology, Strategy, uint32_t>,
                   std::unique_ptr<ThreadedWorld>>();
  auto& w = (*worlds)[{c.topology, c.strategy, c.vcpus}];
  if (!w) w = std::make_unique<ThreadedWorld>(c);
  return *w;
}

// Threads kept between inputs: Run(n, fn) runs fn(0..n-1), one per thread,
// and returns when all have. Creating threads per input cost more than the
// run (under ASan each new stack is mapped and poisoned).
class Crew {
 public:
  static constexpr int kThreads = 5;  // four vCPUs and the garbage writer
  Crew() {
    for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this, i] { Loop(i); });
  }
  void Run(int n, std::function<void(int)> fn) {
    absl::MutexLock lock(&mu_);
    fn_ = std::move(fn);
    active_ = n;
    running_ = n;
    ++generation_;
    mu_.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &running_));
  }

 private:
  void Loop(int i) {
    uint64_t seen = 0;
    for (;;) {
      std::function<void(int)> fn;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [&] { return generation_ != seen && i < active_; };
        mu_.Await(absl::Condition(&ready));
        seen = generation_;
        fn = fn_;
      }
      fn(i);
      absl::MutexLock lock(&mu_);
      --running_;
    }
  }
  absl::Mutex mu_;
  std::function<void(int)> fn_;
  uint64_t generation_ = 0;
  int active_ = 0;
  int running_ = 0;
  std::vector<std::thread> threads_;  // never joined: they live as long as
                                      // the process
};

Crew& TheCrew() {
  static Crew* crew = new Crew();
  return *crew;
}

void RunThreaded(const Config& c, const std::vector<Garbage>& garbage) {
  ThreadedWorld& w = ThreadedWorldFor(c);
  EmulatedHypervisor& hv = w.system.hv;
  const HsmStats stats_before = w.system.hsm.stats();
  std::vector<std::atomic<uint64_t>> hits(c.vcpus);
  absl::Mutex progress_mu;
  int completed = 0;      // guarded by progress_mu
  uint32_t finished = 0;  // guarded by progress_mu
  std::atomic<uint64_t> legal_lost{0};
  std::atomic<uint64_t> refused_clean{0};

  auto writer = [&] {
    for (const Garbage& g : garbage) {
      {
        // Bounded in steps: until that many completions, or every vCPU done.
        absl::MutexLock lock(&progress_mu);
        auto due = [&] { return completed >= g.after || finished == c.vcpus; };
        progress_mu.Await(absl::Condition(&due));
      }
      // Counted on both sides of the write, as a sequence lock is: odd
      // while it may land. A vCPU reads the count (rounded down to even)
      // before it inserts; if it is unchanged once the request is done, no
      // write touched the request, not even one begun before the insert.
      hits[g.vcpu].fetch_add(1, std::memory_order_seq_cst);
      auto* bytes =
          reinterpret_cast<uint8_t*>(&hv.shared_page(w.vm)->slots[g.vcpu]);
      __atomic_store_n(&bytes[g.offset], g.byte, __ATOMIC_SEQ_CST);
      hits[g.vcpu].fetch_add(1, std::memory_order_seq_cst);
    }
  };
  auto vcpu = [&](uint32_t v) {
    // The garbage count when this vCPU last knew its slot FREE and clean.
    uint64_t clean_since = 0;
    for (int i = 0; i < c.requests; ++i) {
      const uint64_t before = hits[v].load(std::memory_order_seq_cst) & ~1ull;
      if (!hv.InsertRequest(w.vm, v, AccessOf(v, i), PolledOf(i)).ok()) {
        // Garbage left the slot not FREE: the hypervisor refuses, its
        // documented outcome; this vCPU stops. Refusing a slot no garbage
        // reached since it was last FREE would be a bug.
        if (hits[v].load(std::memory_order_seq_cst) == clean_since) {
          refused_clean.fetch_add(1);
        }
        break;
      }
      // Waits in slices: a request garbage touched may never complete; an
      // untouched one must, within 2 s.
      absl::StatusOr<uint64_t> got;
      for (int slice = 0; slice < 2000; ++slice) {
        got = hv.WaitForCompletion(w.vm, v, absl::Milliseconds(1));
        if (got.ok() || !absl::IsDeadlineExceeded(got.status())) break;
        if (hits[v].load(std::memory_order_seq_cst) != before) break;
      }
      const bool touched = hits[v].load(std::memory_order_seq_cst) != before;
      if (!got.ok()) {
        if (absl::IsDeadlineExceeded(got.status())) {
          hv.AbandonRequest(w.vm, v).IgnoreError();
        }
        if (!touched) legal_lost.fetch_add(1);
        break;
      }
      absl::MutexLock lock(&progress_mu);
      ++completed;
      if (!touched) clean_since = before;
    }
    absl::MutexLock lock(&progress_mu);
    ++finished;
  };
  TheCrew().Run(static_cast<int>(c.vcpus) + 1, [&](int i) {
    if (i == static_cast<int>(c.vcpus)) {
      writer();
    } else {
      vcpu(static_cast<uint32_t>(i));
    }
  });
  const HsmStats stats = w.system.hsm.stats();
  FUZZ_CHECK(legal_lost.load() == 0,
             "%s/%s, %u vCPUs: %llu legally inserted requests were lost",
             TopologyName(c.topology), StrategyName(c.strategy), c.vcpus,
             (unsigned long long)legal_lost.load());
  FUZZ_CHECK(refused_clean.load() == 0,
             "%s/%s: an insert was refused into a clean slot",
             TopologyName(c.topology), StrategyName(c.strategy));
  FUZZ_CHECK(!garbage.empty() ||
                 stats.spurious_completions == stats_before.spurious_completions,
             "%s/%s: spurious completions without garbage",
             TopologyName(c.topology), StrategyName(c.strategy));
  // Back to the first state for the next input: every slot FREE, nothing
  // held (a reset while the threads run, as a device model's reset is).
  const absl::Status reset = w.system.hsm.ResetVm(w.vm);
  FUZZ_CHECK(reset.ok(), "%s/%s: reset between inputs: %s",
             TopologyName(c.topology), StrategyName(c.strategy),
             reset.ToString().c_str());
}

// --- The replay beside the shadow model --------------------------------------

Lockstep& ReplayWorldFor(const Config& c) {
  static auto* worlds =
      new std::map<std::tuple<Topology, uint32_t>, std::unique_ptr<Lockstep>>();
  auto& w = (*worlds)[{c.topology, c.vcpus}];
  if (!w) w = std::make_unique<Lockstep>(c.topology, Profile::kHardened, c.vcpus);
  return *w;
}

void Replay(const Config& c, const std::vector<Garbage>& garbage) {
  Lockstep& w = ReplayWorldFor(c);
  auto check = [&](const absl::Status& s, const char* what) {
    FUZZ_CHECK(s.ok(), "replay, %s, %u vCPUs, %s: %s",
               TopologyName(c.topology), c.vcpus, what,
               std::string(s.message()).c_str());
  };
  check(w.CreateClient(/*is_default=*/true), "create the device model");
  check(w.CreateClient(/*is_default=*/false), "create the client");
  check(w.AddRange(0, {kTypeMmio, kBarBase, kBarBase + 0xfff}), "add its range");
  // Garbage whose count falls in round r lands in phase (after mod 3):
  // before the dispatch, after it, or after the service.
  auto land = [&](int round, int phase) {
    for (const Garbage& g : garbage) {
      const int r = std::min(g.after / static_cast<int>(c.vcpus), c.requests);
      if (r != round || g.after % 3 != phase) continue;
      const char byte = static_cast<char>(g.byte);
      check(w.Garbage(g.vcpu, g.offset, absl::string_view(&byte, 1)), "garbage");
    }
  };
  for (int round = 0; round <= c.requests; ++round) {
    if (round < c.requests) {
      for (uint32_t v = 0; v < c.vcpus; ++v) {
        check(w.Insert(v, AccessOf(v, round), PolledOf(round)), "insert");
      }
    }
    land(round, 0);
    check(w.Dispatch(), "dispatch");
    land(round, 1);
    check(w.ServeClient(0), "serve the client");
    check(w.ServeDefault(), "serve the device model");
    land(round, 2);
    for (uint32_t v = 0; v < c.vcpus; ++v) check(w.Take(v), "take");
  }
  w.Restart();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kStream.header_size) return 0;
  const Config c = DecodeConfig(data);
  const int total = c.requests * static_cast<int>(c.vcpus);
  std::vector<Garbage> garbage;
  for (size_t i = 0; i < kStream.Count(size); ++i) {
    const uint8_t* r = kStream.At(data, i);
    garbage.push_back({r[0] % c.vcpus, size_t{r[1]} % sizeof(IoRequest), r[2],
                       r[3] % (total + 1)});
  }
  RunThreaded(c, garbage);
  Replay(c, garbage);
  return 0;
}

IOREQ_RECORD_STREAM_MUTATORS(kStream)
