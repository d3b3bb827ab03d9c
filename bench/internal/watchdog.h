// bench/internal/watchdog.h: the stress run's one watchdog.
//
// Every thread of a run beats a Heartbeat as it makes progress. A thread
// that made none for `hang_bound` is hung; a run that has not ended within
// `run_bound` hangs somewhere (building or tearing down the model, say).
// Either way the watchdog prints which thread and where it was, or that the
// run overran, with what the describer adds (the slot states and who holds
// them), and ends the process with exit code 1: a hung run must not hang
// its caller. A finished thread marks its heartbeat finished.
//
// Example:
//   Watchdog watchdog(absl::Seconds(30), absl::Minutes(10));
//   Heartbeat* hb = watchdog.Add("vCPU 0.1");
//   hb->Beat("WaitForCompletion");
//   watchdog.SetDescriber([&] { return SlotStates(); });
#ifndef IOREQ_BENCH_INTERNAL_WATCHDOG_H_
#define IOREQ_BENCH_INTERNAL_WATCHDOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace bench {
namespace stress_internal {

// A thread's proof of life: when it last made progress, and what it was
// doing then.
struct Heartbeat {
  explicit Heartbeat(std::string n) : name(std::move(n)) { Beat("starting"); }
  void Beat(const char* what) {
    where.store(what, std::memory_order_relaxed);
    last_ns.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  }
  const std::string name;
  std::atomic<int64_t> last_ns{0};
  std::atomic<const char*> where{""};
  std::atomic<bool> finished{false};
};

class Watchdog {
 public:
  Watchdog(absl::Duration hang_bound, absl::Duration run_bound);
  ~Watchdog();  // stops watching
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // A heartbeat for one thread, watched from now on; the address is stable
  // for the watchdog's life.
  Heartbeat* Add(std::string name);
  // What a report adds; null for nothing. Set it once the model is built,
  // and clear it before the model goes.
  void SetDescriber(std::function<std::string()> describe);

 private:
  void Loop();
  [[noreturn]] void Fire(const std::string& what);

  const absl::Duration hang_bound_;
  const absl::Time run_deadline_;
  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  std::deque<Heartbeat> heartbeats_;
  std::function<std::string()> describe_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_WATCHDOG_H_
