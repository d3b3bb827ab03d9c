// core/kvm/vcpu_loop.h: one KVM vCPU run until its guest says it is done.
//
// The loop every user of a KVM vCPU shares: KVM_RUN, decode the exit
// (core/kvm/trapped_exit.h), hand each access to a TrapHandler, put a
// read's value back into kvm_run, run again. The handler is where the
// variants differ: a trivial in-VMM device (the raw exit floor the
// benchmarks measure), or the hypervisor's slot protocol with the whole HSM
// behind it (core/harness/kvm_hypervisor.h). A write of any size to
// `report_port` ends the run with the guest's report in its memory; HLT
// ends it too (a guest that stopped without a report). Any other exit, or
// an exit that does not decode, ends the run with an error that says what
// the guest did.
//
// Example:
//   ioreq::kvm::VcpuLoopStats stats;
//   absl::Status s = ioreq::kvm::RunVcpu(
//       cpu, {.report_port = 0x510},
//       [](uint32_t vcpu, ioreq::IoAccess& access) {
//         if (access.direction == ioreq::kDirRead) access.value = 0xFF;
//         return absl::OkStatus();
//       },
//       &stats);
#ifndef IOREQ_CORE_KVM_VCPU_LOOP_H_
#define IOREQ_CORE_KVM_VCPU_LOOP_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/abi/slot_decode.h"
#include "core/kvm/kvm_vm.h"

namespace ioreq {
namespace kvm {

// Emulates one trapped access of vCPU `vcpu`: a read's value goes into
// `access.value`. An error ends the vCPU's run with that error.
using TrapHandler = std::function<absl::Status(uint32_t vcpu, IoAccess& access)>;

struct VcpuLoopOptions {
  uint16_t report_port = 0;  // the guest's "done" port, answered here
  // KVM_EXIT_SHUTDOWN (a triple fault: how a PC resets, and how Linux
  // booted with reboot=t restarts) ends the run OK instead of as an error.
  bool shutdown_is_done = false;
};

// What one run did. Written by the vCPU's thread only; read it after.
struct VcpuLoopStats {
  uint64_t exits = 0;     // KVM_RUN returns with an I/O exit
  uint64_t accesses = 0;  // elements handed to the handler
  bool reported = false;  // the guest wrote report_port
  bool halted = false;    // the guest halted without reporting
  bool shutdown = false;  // it reset (with shutdown_is_done)
};

// Runs until the guest reports or halts (OK), the vCPU is kicked
// (Unavailable), the handler fails (its error), or KVM reports an exit no
// device handles (Internal, naming the exit and the guest's rip).
absl::Status RunVcpu(KvmVcpu& vcpu, const VcpuLoopOptions& options,
                     const TrapHandler& handler, VcpuLoopStats* stats);

// One round of RunVcpu(): one KVM_RUN and the exit it returns with handled.
// kRunning: the guest goes on at the next call; kDone: it reported or
// halted (see stats). For a caller that times each exit (the benchmarks).
enum class VcpuStep { kRunning, kDone };
absl::StatusOr<VcpuStep> StepVcpu(KvmVcpu& vcpu, const VcpuLoopOptions& options,
                                  const TrapHandler& handler,
                                  VcpuLoopStats* stats);

}  // namespace kvm
}  // namespace ioreq

#endif  // IOREQ_CORE_KVM_VCPU_LOOP_H_
