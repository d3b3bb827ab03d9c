#include "core/kvm/vcpu_loop.h"

#include "absl/strings/str_format.h"
#include "core/kvm/trapped_exit.h"

namespace ioreq {
namespace kvm {
namespace {

const char* ExitName(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
    case KVM_EXIT_IO: return "KVM_EXIT_IO";
    case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
    case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
    case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
    case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
    default: return "another exit";
  }
}

}  // namespace

absl::StatusOr<VcpuStep> StepVcpu(KvmVcpu& vcpu, const VcpuLoopOptions& options,
                                  const TrapHandler& handler,
                                  VcpuLoopStats* stats) {
  kvm_run& run = *vcpu.run();
  if (absl::Status s = vcpu.Run(); !s.ok()) return s;
  if (run.exit_reason == KVM_EXIT_HLT) {
    stats->halted = true;
    return VcpuStep::kDone;
  }
  if (run.exit_reason == KVM_EXIT_SHUTDOWN && options.shutdown_is_done) {
    stats->shutdown = true;
    return VcpuStep::kDone;
  }
  if (run.exit_reason == KVM_EXIT_IO && run.io.port == options.report_port &&
      run.io.direction == KVM_EXIT_IO_OUT) {
    stats->reported = true;
    return VcpuStep::kDone;
  }
  absl::StatusOr<TrappedExit> exit = DecodeTrappedExit(run, vcpu.run_size());
  if (!exit.ok()) {
    if (run.exit_reason == KVM_EXIT_IO || run.exit_reason == KVM_EXIT_MMIO) {
      return absl::InternalError(absl::StrFormat(
          "vCPU %u: %s", vcpu.index(), exit.status().message()));
    }
    absl::StatusOr<uint64_t> rip = vcpu.Rip();
    return absl::InternalError(absl::StrFormat(
        "vCPU %u stopped at rip %s: %s (reason %u)%s", vcpu.index(),
        rip.ok() ? absl::StrFormat("%#x", *rip) : "unknown",
        ExitName(run.exit_reason), run.exit_reason,
        run.exit_reason == KVM_EXIT_INTERNAL_ERROR
            ? absl::StrFormat(", suberror %u (an instruction this host "
                              "does not emulate?)",
                              run.internal.suberror)
            : std::string()));
  }
  ++stats->exits;
  for (uint32_t i = 0; i < exit->count; ++i) {
    IoAccess access = Element(run, *exit, i);
    ++stats->accesses;
    if (absl::Status s = handler(vcpu.index(), access); !s.ok()) return s;
    if (access.direction == kDirRead) CompleteRead(run, *exit, i, access.value);
  }
  return VcpuStep::kRunning;
}

absl::Status RunVcpu(KvmVcpu& vcpu, const VcpuLoopOptions& options,
                     const TrapHandler& handler, VcpuLoopStats* stats) {
  for (;;) {
    absl::StatusOr<VcpuStep> step = StepVcpu(vcpu, options, handler, stats);
    if (!step.ok()) return step.status();
    if (*step == VcpuStep::kDone) return absl::OkStatus();
  }
}

}  // namespace kvm
}  // namespace ioreq
