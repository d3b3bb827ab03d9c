// bench/internal/doorbell_families.h: a guest's doorbell write, carried
// three ways, under both profiles, in one run.
//
//   DoorbellWrite/path:P/profile:R/topology:T   one vCPU writes a 4-byte
//                                               MMIO doorbell, per write:
//     slot       a request like any other: a slot, the client that owns the
//                address counts it, the vCPU waits for COMPLETE
//     ioeventfd  a slot, the HSM's ioeventfd client signals an eventfd, the
//                vCPU waits for COMPLETE
//     posted     no slot and no wait: the hypervisor puts the write into
//                the VM's posted ring and fires the upcall; the HSM drains
//                the ring and signals the eventfd [posted]
//
// Latency is how long the vCPU is held per write (what the guest pays).
// Every write is checked to have been delivered once (the client's count
// or the eventfd's) at the end of the run; a run that lost one is an
// error. The completion strategy is futex, notified. Counters:
// p50_ns ... (bench/internal/benchmark_common.h), ratio_to_slot (p50 over
// the slot path's p50 of the same profile and topology, measured in this
// process), cpu_ns_per_request, syscalls_per_request.
#ifndef IOREQ_BENCH_INTERNAL_DOORBELL_FAMILIES_H_
#define IOREQ_BENCH_INTERNAL_DOORBELL_FAMILIES_H_

namespace bench {

void RegisterDoorbellFamilies();

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_DOORBELL_FAMILIES_H_
