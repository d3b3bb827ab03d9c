// bench/internal/kvm_families.h: the benchmark families of the trapped path.
//
// A guest instruction that traps, as a KVM vCPU sees it (bench/ioreq_benchmark
// registers these beside the emulated-producer families):
//
//   KvmExit/exit:E                          the raw floor: a guest loop of
//                                           port (E = port) or MMIO (mmio)
//                                           accesses, answered by a trivial
//                                           handler in the VMM; no slot, no HSM
//   KvmRoundTrip/strategy:S/topology:T/completion:C/exit:E
//                                           the same loop, each access a
//                                           request through the HSM to a
//                                           client; ratio_to_exit = p50 over
//                                           KvmExit's median of the same E,
//                                           measured in this process
//   KvmDoorbell/impl:I                      a 4-byte doorbell write, per write:
//                                           user_exit (an exit each, trivial
//                                           handler), hsm_ioeventfd (an exit
//                                           each, through the HSM's ioeventfd
//                                           client), kvm_ioeventfd
//                                           (KVM_IOEVENTFD: signalled in the
//                                           kernel, no exit), coalesced
//                                           (KVM_REGISTER_COALESCED_MMIO:
//                                           queued, drained per batch)
//   KvmThroughput/strategy:S/topology:T/vcpus:N
//                                           the stress command's guest mix
//                                           (--hypervisor=kvm) for 0.4 s
//
// Latency is what the VMM sees, from KVM_RUN to the next exit handled
// (guest time included). Where KVM is unusable every family is skipped
// with the reason.
#ifndef IOREQ_BENCH_INTERNAL_KVM_FAMILIES_H_
#define IOREQ_BENCH_INTERNAL_KVM_FAMILIES_H_

namespace bench {

void RegisterKvmFamilies();

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_KVM_FAMILIES_H_
