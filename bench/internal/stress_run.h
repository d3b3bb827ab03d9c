// bench/internal/stress_run.h: one stress run, in four steps.
//
// Build() the model and the devices, Run() the load and the fault threads
// to the end, Collect() what every thread counted, Check() what only the end
// can tell (writes delivered, exactly once per slot). RunStress()
// (bench/stress_workload.h) makes one under its watchdog. Internal to
// bench/stress_workload.cc.
//
// Example:
//   Watchdog watchdog(hang_bound, run_bound);
//   StressRun run(config, watchdog);
//   if (!run.Build().ok()) ...;
//   run.Run();
//   StressResult result = run.Collect();
//   run.Check(result);
#ifndef IOREQ_BENCH_INTERNAL_STRESS_RUN_H_
#define IOREQ_BENCH_INTERNAL_STRESS_RUN_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bench/internal/stress_rig.h"
#include "bench/internal/vcpu_load.h"
#include "bench/internal/watchdog.h"
#include "bench/stress_workload.h"
#include "core/harness/kvm_hypervisor.h"
#include "core/harness/system.h"

namespace bench {
namespace stress_internal {

// Members are declared so that they go in the right order:
// the HSM first, then the hypervisor, then the devices its clients call.
class StressRun {
 public:
  StressRun(const StressConfig& config, Watchdog& watchdog)
      : config_(config),
        watchdog_(watchdog),
        rescan_(config.rescan ? absl::Milliseconds(20)
                              : absl::InfiniteDuration()),
        hv_(MakeProducer(config, rescan_, &requests_, &kvm_)),
        h_(config, *requests_, rigs_),
        calls_(&h_),
        hsm_(&calls_, HsmOptions(), config.strategy) {
    h_.hsm = &hsm_;
  }
  ~StressRun() { watchdog_.SetDescriber(nullptr); }

  absl::Status Build();
  void Run();
  StressResult Collect() const;
  absl::Status Check(StressResult& result);

 private:
  ioreq::HsmOptions HsmOptions() const {
    ioreq::HsmOptions options;
    options.topology = config_.topology;
    options.rescan_interval = rescan_;
    options.service_poll = config_.service_poll;
    options.carry_wakes = config_.carry_wakes;
    options.thread_cpus = config_.placement.hsm_cpus;
    return options;
  }
  static std::unique_ptr<ioreq::Hypervisor> MakeProducer(
      const StressConfig& config, absl::Duration rescan,
      ioreq::EmulatedHypervisor** requests, ioreq::KvmHypervisor** kvm);
  absl::Status BuildVm();
  // KVM producer: loads the guest with the run's mix into every VM, runs
  // it to the end (or to `deadline` in a timed run), and takes the guests'
  // reports.
  absl::Status PrepareGuests();
  void RunGuests(absl::Time deadline);
  // Starts a helper thread (spurious wake-ups, a fault) until the load ends.
  void StartHelper(const char* name,
                   void (*body)(RunState&, Heartbeat&, std::atomic<bool>&));
  void ProgressLoop();
  std::string ProgressLine(absl::Time now, uint64_t* last_completed,
                           absl::Time* last) const;

  const StressConfig& config_;
  Watchdog& watchdog_;
  const absl::Duration rescan_;
  std::vector<std::unique_ptr<VmRig>> rigs_;
  // The producer side (emulated, or KVM around the same slot protocol);
  // requests_ is that protocol, kvm_ the KVM hypervisor or null. Set by
  // MakeProducer(), declared before hv_ so that it is set by then.
  ioreq::EmulatedHypervisor* requests_ = nullptr;
  ioreq::KvmHypervisor* kvm_ = nullptr;
  std::unique_ptr<ioreq::Hypervisor> hv_;
  RunState h_;
  // The HSM reaches the hypervisor through the lossy calls (drop fault).
  LossyHypervisorCalls calls_;
  ioreq::Hsm hsm_;
  std::vector<std::unique_ptr<VcpuLoad>> loads_;
  uint64_t guest_errors_ = 0;  // KVM: guests that stopped or miscounted
  std::vector<std::string> guest_problems_;
  absl::Time start_;
  double cpu_start_ = 0;
  double elapsed_s_ = 0, cpu_s_ = 0;

  std::atomic<bool> load_done_{false};
  std::vector<std::thread> helpers_;
  std::mutex progress_mu_;
  std::condition_variable progress_cv_;
  bool progress_done_ = false;  // guarded by progress_mu_
};

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_STRESS_RUN_H_
