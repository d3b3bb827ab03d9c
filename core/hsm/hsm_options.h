// core/hsm/hsm_options.h: how an HSM is built: its topology and its limits.
//
// Example:
//   ioreq::HsmOptions options;
//   options.topology = *ioreq::ParseTopology("direct");
//   ioreq::Hsm hsm(&hypervisor, options);
#ifndef IOREQ_CORE_HSM_HSM_OPTIONS_H_
#define IOREQ_CORE_HSM_HSM_OPTIONS_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ioreq {

// Who routes requests to clients (docs/design.md, "Two engines").
enum class Topology {
  // The kernel's: hypervisor -> dispatcher thread -> client (three hops).
  kKernel,
  // Each client scans the shared page itself and claims, with a
  // compare-exchange to PROCESSING, the PENDING requests its ranges own; the
  // default client takes what no range owns and does the 0xCF8/0xCFC
  // folding. Two hops, no dispatcher.
  kDirect,
};
inline constexpr Topology kAllTopologies[] = {Topology::kKernel,
                                              Topology::kDirect};
const char* TopologyName(Topology topology);  // "kernel", "direct"
absl::StatusOr<Topology> ParseTopology(absl::string_view name);

struct HsmOptions {
  Topology topology = Topology::kKernel;
  // Run the dispatcher and the in-process clients on threads of their own.
  bool run_threads = true;
  // How long ClearRequests() lets in-process clients drain (the kernel:
  // 10 tries of 10 ms).
  absl::Duration clear_drain_timeout = absl::Milliseconds(100);
  // A request whose handler fails this many times in a row is completed
  // with an all-ones value instead of blocking its vCPU for ever.
  int handler_max_attempts = 3;
  // Compare every RangeIndex answer with the kernel's linear scan and abort
  // on a difference (tests and fuzzers turn this on).
  bool check_range_index = false;
  // [rescan] Not in the kernel: a waiter that scans the shared page (the
  // dispatcher; in the direct topology every client) also wakes after this
  // long without a ring and scans anyway, so a lost upcall costs one
  // interval instead of a vCPU hung for ever. InfiniteDuration() turns it
  // off (the kernel's behaviour).
  absl::Duration rescan_interval = absl::Milliseconds(20);
  // Not in the kernel: after a pass that found work, the dispatcher and
  // each in-process client poll their doorbell for this long before they
  // sleep (core/notify/poll_for_ring.h), so that under load the next
  // upcall or hand-over costs a load instead of a wake and a sleep (the
  // system-call floor of docs/performance.md). Trades CPU for calls; zero
  // (the default, the kernel's behaviour): they sleep at once.
  absl::Duration service_poll = absl::ZeroDuration();
  // Not in the kernel: the dispatcher and each in-process client hold the
  // wakes of a pass and send them with the sleep that ends it
  // (core/notify/wake_batch.h): with `uring`, one io_uring_enter for the
  // wakes and the sleep. Pair with EmulatedHypervisor::set_carry_wakes()
  // (System does). Fewer system calls, not less time on the machines
  // measured (docs/performance.md, "A wake carried by a sleep"); off by
  // default.
  bool carry_wakes = false;
  // The CPUs the HSM's own threads (the dispatcher, in-process clients)
  // run on; empty: wherever the scheduler puts them (core/placement/).
  std::vector<int> thread_cpus;
  // Not in the kernel: called on the dispatcher's thread the moment it has
  // handed a request to a client (PROCESSING and the client's pending bit
  // set), so a benchmark can time each hop (upcall -> dispatcher ->
  // client -> vCPU). Kernel topology only; empty: no call (one predictable
  // branch per dispatched request).
  std::function<void(uint16_t vmid, uint32_t vcpu)> on_dispatched;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HSM_OPTIONS_H_
