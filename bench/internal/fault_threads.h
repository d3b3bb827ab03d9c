// bench/internal/fault_threads.h: the threads that inject faults.
//
// Each runs until `stop`, beats its Heartbeat, and bumps the marks of what
// it touches before it acts (VmRig::SlotMarks, the epochs), so that a vCPU
// can tell whether a fault touched its request. Stall and drop have no
// thread: they live in RunState::BarHandler() and LossyHypervisorCalls.
#ifndef IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_
#define IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

#include "bench/internal/stress_rig.h"

namespace bench {
namespace stress_internal {

// How many garbage writes a rate of `per_s` owes `elapsed` into the run:
// the garbage thread writes up to this after every sleep, however late the
// sleep ended.
uint64_t GarbageDue(double per_s, absl::Duration elapsed);

void GarbageThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void DestroyThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void ClearThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void PauseThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_
