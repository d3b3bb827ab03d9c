// core/hsm/hsm_stats.h: what the HSM counts, declared once.
//
// IOREQ_HSM_COUNTERS is the one list of the HSM's counters: the HsmStats
// struct, the atomic counters behind it (internal/counters.h), the copy-out
// and every printer (ForEachHsmStat: the stress command's text and JSON, the
// benchmarks' counters) are made from it, so none can leave one out.
//
// Example:
//   ioreq::HsmStats s = hsm.stats();
//   ioreq::ForEachHsmStat(s, [](const char* name, uint64_t value) {
//     std::printf("%s=%llu\n", name, static_cast<unsigned long long>(value));
//   });
#ifndef IOREQ_CORE_HSM_HSM_STATS_H_
#define IOREQ_CORE_HSM_HSM_STATS_H_

#include <cstdint>

namespace ioreq {

// X(name, what it counts)
#define IOREQ_HSM_COUNTERS(X)                                                  \
  X(dispatch_passes, "routing passes of the kernel dispatcher")               \
  X(dispatched, "requests handed to a client: PENDING -> PROCESSING")         \
  X(completed, "requests made COMPLETE, every path")                          \
  X(cf8cfc_in_place, "0xCF8 accesses and disabled 0xCFC, answered in place")  \
  X(cf8cfc_converted, "0xCFC accesses folded into PCICFG requests")           \
  X(completed_while_clearing, "requests completed unemulated during a clear") \
  X(forced_by_clear, "default client's requests force-completed by a clear")  \
  X(rejected_invalid, "requests that failed CheckRequest(), answered ~0")     \
  X(no_client, "requests left PENDING: no client at all")                     \
  X(spurious_completions, "completions refused: the request was not held")    \
  X(handed_over_on_destroy, "destroyed client's requests given to default")   \
  X(completed_on_destroy, "destroyed client's requests answered ~0")          \
  X(handler_errors, "handler calls that failed")                              \
  X(handler_gave_up, "requests answered ~0 after handler_max_attempts")       \
  X(ownership_lost, "state changed under the HSM by someone else")            \
  X(hypercall_errors, "hypercalls that failed")                               \
  X(rescans, "scans after rescan_interval without a ring")                    \
  X(rescued_by_rescan, "requests such a scan found PENDING")                  \
  X(rerouted, "direct: a claimed slot held another request; given back")   \
  X(left_to_default, "direct: PENDING slots not marked 1, left to default")  \
  X(posted_signaled, "posted writes drained and signalled to an eventfd")    \
  X(posted_unknown, "posted ring entries with no descriptor, dropped")       \
  X(posted_corrupt, "drains that found the ring's header not sane")

// Counters of what the HSM did; every one is a relaxed snapshot.
struct HsmStats {
#define IOREQ_HSM_STATS_FIELD(name, what) uint64_t name = 0;
  IOREQ_HSM_COUNTERS(IOREQ_HSM_STATS_FIELD)
#undef IOREQ_HSM_STATS_FIELD
};

// Calls fn(name, value) for every counter, in declaration order.
template <typename Fn>
void ForEachHsmStat(const HsmStats& stats, Fn&& fn) {
#define IOREQ_HSM_STATS_VISIT(name, what) fn(#name, stats.name);
  IOREQ_HSM_COUNTERS(IOREQ_HSM_STATS_VISIT)
#undef IOREQ_HSM_STATS_VISIT
}

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HSM_STATS_H_
