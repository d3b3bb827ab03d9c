// core/hsm/internal/counters.h: the atomic counters behind HsmStats.
//
// Made from IOREQ_HSM_COUNTERS (core/hsm/hsm_stats.h). Every update is a
// relaxed fetch_add: the counters order nothing, they are statistics. Each
// counter has a cache line of its own: on a request's path different
// threads count (the kernel dispatcher `dispatched`, the client
// `completed`), and two counters on one line would move it between their
// CPUs on every request.
//
// Example:
//   Count(counters.dispatched);
//   HsmStats s = counters.Snapshot();
#ifndef IOREQ_CORE_HSM_INTERNAL_COUNTERS_H_
#define IOREQ_CORE_HSM_INTERNAL_COUNTERS_H_

#include <atomic>
#include <cstdint>

#include "core/hsm/hsm_stats.h"

namespace ioreq {
namespace hsm_internal {

struct HsmCounters {
#define IOREQ_HSM_COUNTER_FIELD(name, what) \
  alignas(64) std::atomic<uint64_t> name{0};
  IOREQ_HSM_COUNTERS(IOREQ_HSM_COUNTER_FIELD)
#undef IOREQ_HSM_COUNTER_FIELD

  HsmStats Snapshot() const {
    HsmStats s;
#define IOREQ_HSM_COUNTER_COPY(name, what) \
  s.name = name.load(std::memory_order_relaxed);
    IOREQ_HSM_COUNTERS(IOREQ_HSM_COUNTER_COPY)
#undef IOREQ_HSM_COUNTER_COPY
    return s;
  }
};
static_assert(sizeof(HsmCounters) == 64 * (sizeof(HsmStats) / sizeof(uint64_t)),
              "one cache line per counter");

inline void Count(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_COUNTERS_H_
