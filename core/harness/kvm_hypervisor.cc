#include "core/harness/kvm_hypervisor.h"

#include "absl/strings/str_format.h"
#include "core/placement/placement.h"

namespace ioreq {

KvmHypervisor::KvmHypervisor(KvmHypervisorOptions options)
    : options_(options),
      requests_(options.strategy, options.completion_rescan,
                options.profile) {}

KvmHypervisor::~KvmHypervisor() {
  std::vector<uint16_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, vm] : vms_) ids.push_back(id);
  }
  for (uint16_t id : ids) {
    Kick(id);
    Join(id);
  }
}

absl::StatusOr<uint16_t> KvmHypervisor::CreateVm(uint32_t vcpu_num) {
  if (vcpu_num < 1 || vcpu_num > kvm::KvmVm::kMaxVcpus) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vcpu_num %u: a VM has 1 to %u vCPUs", vcpu_num,
        kvm::KvmVm::kMaxVcpus));
  }
  absl::StatusOr<std::unique_ptr<kvm::KvmVm>> machine =
      kvm::KvmVm::Create(options_.memory_bytes, options_.pc_platform);
  if (!machine.ok()) return machine.status();
  for (uint32_t i = 0; i < vcpu_num; ++i) {
    if (absl::StatusOr<kvm::KvmVcpu*> v = (*machine)->AddVcpu(); !v.ok()) {
      return v.status();
    }
  }
  absl::StatusOr<uint16_t> id = requests_.CreateVm(vcpu_num, options_.polling);
  if (!id.ok()) return id.status();
  auto vm = std::make_unique<Vm>();
  vm->kvm = std::move(*machine);
  std::lock_guard<std::mutex> lock(mu_);
  vms_[*id] = std::move(vm);
  return *id;
}

KvmHypervisor::Vm* KvmHypervisor::Find(uint16_t vmid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = vms_.find(vmid);
  return it == vms_.end() ? nullptr : it->second.get();
}

kvm::KvmVm* KvmHypervisor::kvm_vm(uint16_t vmid) const {
  Vm* vm = Find(vmid);
  return vm == nullptr ? nullptr : vm->kvm.get();
}

absl::Status KvmHypervisor::Trap(uint16_t vmid, uint32_t vcpu,
                                 IoAccess& access) {
  absl::StatusOr<uint64_t> value =
      requests_.EmulateAccess(vmid, vcpu, access, options_.polling);
  if (!value.ok()) return value.status();
  access.value = *value;
  return absl::OkStatus();
}

absl::Status KvmHypervisor::Start(uint16_t vmid, kvm::TrapHandler handler) {
  Vm* vm = Find(vmid);
  if (vm == nullptr) {
    return absl::NotFoundError(absl::StrFormat("no VM %u", vmid));
  }
  if (!vm->threads.empty()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("VM %u already runs", vmid));
  }
  if (!handler) {
    handler = [this, vmid](uint32_t vcpu, IoAccess& access) {
      return Trap(vmid, vcpu, access);
    };
  }
  const size_t n = vm->kvm->vcpu_count();
  vm->results.assign(n, VcpuResult{});
  for (size_t i = 0; i < n; ++i) {
    vm->threads.emplace_back([this, vm, i, handler] {
      if (!options_.vcpu_cpus.empty()) {
        PinCurrentThread(options_.vcpu_cpus).IgnoreError();  // best effort
      }
      VcpuResult& result = vm->results[i];
      result.status = kvm::RunVcpu(vm->kvm->vcpu(i),
                                   {.report_port = options_.report_port,
                                    .shutdown_is_done = options_.pc_platform},
                                   handler, &result.stats);
    });
  }
  return absl::OkStatus();
}

std::vector<KvmHypervisor::VcpuResult> KvmHypervisor::Join(uint16_t vmid) {
  Vm* vm = Find(vmid);
  if (vm == nullptr) return {};
  for (std::thread& t : vm->threads) t.join();
  vm->threads.clear();
  return vm->results;
}

void KvmHypervisor::Kick(uint16_t vmid) {
  Vm* vm = Find(vmid);
  if (vm == nullptr) return;
  for (size_t i = 0; i < vm->kvm->vcpu_count(); ++i) vm->kvm->vcpu(i).Kick();
}

}  // namespace ioreq
