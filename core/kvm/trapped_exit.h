// core/kvm/trapped_exit.h: a KVM exit, turned into the accesses it asks for.
//
// A vCPU's kvm_run after KVM_RUN says why the guest stopped. The two exits
// the I/O request path carries are turned into IoAccess values, the same
// decoded access a request holds (core/abi/slot_decode.h):
//   KVM_EXIT_IO    a PORTIO access: address = port, size 1/2/4, direction;
//                  `count` > 1 (string I/O, rep ins/outs) is one access
//                  per element, each with its own value.
//   KVM_EXIT_MMIO  an MMIO access: address = guest physical address,
//                  size 1..8, direction, value of a write.
// kvm_run is shared with the kernel and, to this code, input: a size, count
// or data offset that does not fit the run structure is refused
// (InvalidArgument), never followed out of bounds. A read's value goes back
// with CompleteRead() before the next KVM_RUN.
//
// Example:
//   absl::StatusOr<ioreq::kvm::TrappedExit> exit =
//       ioreq::kvm::DecodeTrappedExit(*vcpu.run(), vcpu.run_size());
//   for (uint32_t i = 0; i < exit->count; ++i) {
//     ioreq::IoAccess access = ioreq::kvm::Element(*vcpu.run(), *exit, i);
//     uint64_t value = Emulate(access);
//     if (access.direction == ioreq::kDirRead)
//       ioreq::kvm::CompleteRead(*vcpu.run(), *exit, i, value);
//   }
#ifndef IOREQ_CORE_KVM_TRAPPED_EXIT_H_
#define IOREQ_CORE_KVM_TRAPPED_EXIT_H_

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "core/abi/slot_decode.h"

namespace ioreq {
namespace kvm {

// What an exit asks of the device side.
struct TrappedExit {
  enum Kind : uint8_t { kPort, kMmio } kind = kPort;
  uint32_t count = 1;        // elements; 1 for MMIO
  IoAccess first;            // element 0 (its value: a write's data)
  uint64_t data_offset = 0;  // port I/O: where the elements sit in kvm_run
};

// The largest string I/O an exit may carry: a page of elements, as KVM
// hands at most one page of data to user space per exit.
inline constexpr uint32_t kMaxStringElements = 4096;

// Decodes a KVM_EXIT_IO or KVM_EXIT_MMIO. InvalidArgument for any other
// exit reason, and for fields that do not describe an access: a port size
// other than 1/2/4, a zero or too large count, elements outside the
// `run_size` bytes of the run structure, a port access that runs past
// 0xFFFF, an MMIO length outside 1..8 or an address that wraps.
absl::StatusOr<TrappedExit> DecodeTrappedExit(const kvm_run& run,
                                              size_t run_size);

// Element `i` (< exit.count) of a decoded exit; its value is the data of a
// write, 0 for a read.
IoAccess Element(const kvm_run& run, const TrappedExit& exit, uint32_t i);

// Stores a read's value, masked to the access size, where the guest finds
// it when it resumes.
void CompleteRead(kvm_run& run, const TrappedExit& exit, uint32_t i,
                  uint64_t value);

}  // namespace kvm
}  // namespace ioreq

#endif  // IOREQ_CORE_KVM_TRAPPED_EXIT_H_
