// core/abi/slot_state.h: the state word of a slot, with the kernel's ordering.
//
// `processed` is the only field of a slot that two sides touch concurrently.
// The kernel reads it with smp_load_acquire() and writes it with
// smp_store_release(); these helpers are the model's spelling of the same
// two operations, plus a relaxed load for code that only reports the state.
// Every other field is plain memory whose ownership is handed over by these
// acquire/release pairs [lifecycle]:
//
//   hypervisor: fill fields;  StoreStateRelease(PENDING)     (hv-insert)
//   HSM:        LoadStateAcquire() == PENDING; read fields     (dispatch)
//   HSM:        write value;  StoreStateRelease(PROCESSING)    (dispatch)
//   client:     LoadStateAcquire(); emulate; write value
//   HSM:        StoreStateRelease(COMPLETE)                    (complete)
//   hypervisor: LoadStateAcquire() == COMPLETE; read value; store FREE
//
// Example:
//   if (ioreq::LoadStateAcquire(slot) == ioreq::kStatePending) { ... }
#ifndef IOREQ_CORE_ABI_SLOT_STATE_H_
#define IOREQ_CORE_ABI_SLOT_STATE_H_

#include <cstdint>

#include "core/abi/abi.h"

namespace ioreq {

// smp_load_acquire(&slot->processed).
inline uint32_t LoadStateAcquire(const IoRequest& slot) {
  return __atomic_load_n(&slot.processed, __ATOMIC_ACQUIRE);
}

// A relaxed read, for statistics and assertions that order nothing.
inline uint32_t LoadStateRelaxed(const IoRequest& slot) {
  return __atomic_load_n(&slot.processed, __ATOMIC_RELAXED);
}

// smp_store_release(&slot->processed, state).
inline void StoreStateRelease(IoRequest& slot, uint32_t state) {
  __atomic_store_n(&slot.processed, state, __ATOMIC_RELEASE);
}

// Moves the state from `expected` to `desired` only if it is still
// `expected` (acq_rel: it both takes and hands over the slot). Used where the
// model must not overwrite a state another party may have changed.
inline bool CompareExchangeState(IoRequest& slot, uint32_t expected,
                                 uint32_t desired) {
  return __atomic_compare_exchange_n(&slot.processed, &expected, desired,
                                     /*weak=*/false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

// kernel_handled: who serves a PROCESSING request. ACRN's device model scans
// the page for PROCESSING && !kernel_handled (core/harness/
// acrn_device_model.h) while routing writes the field, so both sides use
// these atomic accessors. Routing stores it with StoreKernelHandledRelease()
// before the state word that publishes it (a scan that read the previous
// request's PROCESSING can read this value first), or, where it must change
// an already published PROCESSING slot to the device model's, after the
// device model's pending bit is set. A relaxed store is for the 1 that
// takes a slot away from the device model, which orders nothing.
inline uint32_t LoadKernelHandledAcquire(const IoRequest& slot) {
  return __atomic_load_n(&slot.kernel_handled, __ATOMIC_ACQUIRE);
}
inline void StoreKernelHandledRelaxed(IoRequest& slot, uint32_t value) {
  __atomic_store_n(&slot.kernel_handled, value, __ATOMIC_RELAXED);
}
inline void StoreKernelHandledRelease(IoRequest& slot, uint32_t value) {
  __atomic_store_n(&slot.kernel_handled, value, __ATOMIC_RELEASE);
}

// "PENDING", "COMPLETE", ... or "INVALID" for any other value.
const char* StateName(uint32_t state);

}  // namespace ioreq

#endif  // IOREQ_CORE_ABI_SLOT_STATE_H_
