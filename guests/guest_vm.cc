#include "guests/guest_vm.h"

#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "guests/guest_image.h"

namespace ioreq {
namespace guests {

guest_params EmptyParams(uint32_t program, uint32_t vcpus) {
  guest_params params;
  std::memset(&params, 0, sizeof(params));
  params.magic = GUEST_MAGIC;
  params.program = program;
  params.vcpus = vcpus;
  return params;
}

absl::Status PrepareGuest(kvm::KvmVm& vm, const guest_params& params) {
  if (vm.memory_size() < GUEST_MEMORY_BYTES) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the guests need %u bytes of memory; the VM has %u",
        GUEST_MEMORY_BYTES, vm.memory_size()));
  }
  if (vm.vcpu_count() > GUEST_MAX_VCPUS) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the guests run on at most %u vCPUs", GUEST_MAX_VCPUS));
  }
  absl::Span<const uint8_t> image = GuestImage();
  if (image.size() > GUEST_IMAGE_MAX) {
    return absl::InternalError("the guest image exceeds GUEST_IMAGE_MAX");
  }
  if (absl::Status s = vm.WriteIdentityMap(GUEST_PAGE_TABLES); !s.ok()) {
    return s;
  }
  if (absl::Status s = vm.Load(GUEST_IMAGE_BASE, image); !s.ok()) return s;
  if (absl::Status s = vm.Load(
          GUEST_PARAMS, absl::MakeConstSpan(
                            reinterpret_cast<const uint8_t*>(&params),
                            sizeof(params)));
      !s.ok()) {
    return s;
  }
  std::memset(vm.memory() + GUEST_REPORTS, 0,
              sizeof(guest_report) * GUEST_MAX_VCPUS);
  for (uint32_t v = 0; v < vm.vcpu_count(); ++v) {
    if (absl::Status s =
            vm.vcpu(v).EnterUser64(GUEST_IMAGE_BASE, GUEST_STACK_TOP(v), v,
                                   GUEST_PAGE_TABLES);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

volatile guest_params& ParamsOf(kvm::KvmVm& vm) {
  return *reinterpret_cast<volatile guest_params*>(vm.memory() + GUEST_PARAMS);
}

guest_report ReportOf(const kvm::KvmVm& vm, uint32_t vcpu) {
  guest_report report;
  std::memcpy(&report,
              vm.memory() + GUEST_REPORTS + vcpu * sizeof(guest_report),
              sizeof(report));
  report.message[GUEST_MESSAGE_BYTES - 1] = 0;
  return report;
}

volatile guest_report& LiveReportOf(kvm::KvmVm& vm, uint32_t vcpu) {
  return reinterpret_cast<volatile guest_report*>(vm.memory() +
                                                  GUEST_REPORTS)[vcpu];
}

absl::Status CheckReport(const kvm::KvmVm& vm, uint32_t vcpu,
                         uint64_t host_accesses) {
  const guest_report r = ReportOf(vm, vcpu);
  if (r.magic != GUEST_MAGIC) {
    return absl::InternalError(
        absl::StrFormat("guest vCPU %u never reported", vcpu));
  }
  if (r.failures != 0) {
    return absl::InternalError(absl::StrFormat(
        "guest vCPU %u found %u wrong values of %u checked; first: %s", vcpu,
        r.failures, r.checked, std::string(r.message)));
  }
  if (r.accesses != host_accesses) {
    return absl::InternalError(absl::StrFormat(
        "guest vCPU %u made %u accesses, the host handled %u", vcpu,
        r.accesses, host_accesses));
  }
  return absl::OkStatus();
}

}  // namespace guests
}  // namespace ioreq
