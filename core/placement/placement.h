// core/placement/placement.h: which CPUs the producers and the HSM run on.
//
// On a small VM whether a wake crosses to another, idle vCPU of the host or
// stays on the waker's core decides most of a latency figure (tens of µs
// against one or two; docs/performance.md), and unpinned threads land one
// way or the other from run to run. A Placement says where each side runs:
// the vCPU threads (the producers: emulated vCPUs, KVM vCPUs, a
// benchmark's own thread), and the HSM's threads (dispatcher, in-process
// clients, the device model, a raw ping-pong's partner). The flag spelling:
//   none          nothing is pinned (the scheduler decides)
//   same-core     both sides on the first CPU this process may use
//   cross-core    vCPUs on the first, the HSM on the second
//   V/H           explicit CPU lists, e.g. 0/1 or 0,1/2,3
//
// Example:
//   absl::StatusOr<ioreq::Placement> p = ioreq::ParsePlacement("cross-core");
//   options.thread_cpus = p->hsm_cpus;                  // HsmOptions
//   std::thread vcpu([&] { ioreq::PinCurrentThread(p->vcpu_cpus); ... });
#ifndef IOREQ_CORE_PLACEMENT_PLACEMENT_H_
#define IOREQ_CORE_PLACEMENT_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ioreq {

struct Placement {
  std::string name = "none";   // as given: none, same-core, cross-core, V/H
  std::vector<int> vcpu_cpus;  // empty: anywhere
  std::vector<int> hsm_cpus;   // empty: anywhere
  bool pinned() const { return !vcpu_cpus.empty() || !hsm_cpus.empty(); }
};

// The CPUs this process may run on, in order (sched_getaffinity).
std::vector<int> AllowedCpus();

// InvalidArgument, naming what is accepted, for anything else than the
// spellings above, for a CPU this process may not use, and for cross-core
// where only one CPU is allowed.
absl::StatusOr<Placement> ParsePlacement(absl::string_view flag);

// Restricts the calling thread to `cpus` (empty: all allowed CPUs).
absl::Status PinCurrentThread(const std::vector<int>& cpus);

// While alive, the calling thread runs on `cpus`; the destructor gives the
// thread back its earlier mask (a benchmark thread lent to one placement).
class ScopedPin {
 public:
  explicit ScopedPin(const std::vector<int>& cpus);
  ~ScopedPin();
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  const absl::Status& status() const { return status_; }

 private:
  std::vector<int> before_;
  absl::Status status_;
  bool changed_ = false;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_PLACEMENT_PLACEMENT_H_
