#include "bench/internal/watchdog.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/flags/strict_flags.h"

namespace bench {
namespace stress_internal {

Watchdog::Watchdog(absl::Duration hang_bound, absl::Duration run_bound)
    : hang_bound_(hang_bound),
      run_deadline_(absl::Now() + run_bound),
      thread_([this] { Loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Heartbeat* Watchdog::Add(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  heartbeats_.emplace_back(std::move(name));
  return &heartbeats_.back();
}

void Watchdog::SetDescriber(std::function<std::string()> describe) {
  std::lock_guard<std::mutex> lock(mu_);
  describe_ = std::move(describe);
}

void Watchdog::Fire(const std::string& what) {
  std::string report = absl::StrCat("stress: watchdog: ", what);
  if (describe_) absl::StrAppend(&report, "; ", describe_());
  std::fprintf(stderr, "%s\n", report.c_str());
  std::fflush(stderr);
  _exit(tools::kExitProblem);
}

void Watchdog::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(100),
                         [this] { return stop_; })) {
    const absl::Time now = absl::Now();
    if (now > run_deadline_) {
      Fire("the run did not finish in time (a thread hangs)");
    }
    const int64_t now_ns = absl::ToUnixNanos(now);
    for (const Heartbeat& hb : heartbeats_) {
      if (hb.finished.load(std::memory_order_relaxed)) continue;
      const int64_t idle = now_ns - hb.last_ns.load(std::memory_order_relaxed);
      if (idle < absl::ToInt64Nanoseconds(hang_bound_)) continue;
      Fire(absl::StrFormat("thread '%s' made no progress for %.1f s, in %s",
                           hb.name, idle / 1e9,
                           hb.where.load(std::memory_order_relaxed)));
    }
  }
}

}  // namespace stress_internal
}  // namespace bench
