// bench/internal/fault_threads.h: the threads that inject faults.
//
// Each runs until `stop`, beats its Heartbeat, and bumps the marks of what
// it touches before it acts (VmRig::SlotMarks, the epochs), so that a vCPU
// can tell whether a fault touched its request. Stall and drop have no
// thread: they live in RunState::BarHandler() and LossyHypervisorCalls.
#ifndef IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_
#define IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_

#include <atomic>

#include "bench/internal/stress_rig.h"

namespace bench {
namespace stress_internal {

void GarbageThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void DestroyThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void ClearThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);
void PauseThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop);

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_FAULT_THREADS_H_
