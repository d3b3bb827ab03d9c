#include "core/kvm/trapped_exit.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "core/abi/abi.h"

namespace ioreq {
namespace kvm {
namespace {

uint64_t LoadLittle(const uint8_t* bytes, uint64_t size) {
  uint64_t value = 0;
  std::memcpy(&value, bytes, size);  // x86 is little-endian, as is the ABI
  return value;
}

void StoreLittle(uint8_t* bytes, uint64_t size, uint64_t value) {
  std::memcpy(bytes, &value, size);
}

}  // namespace

absl::StatusOr<TrappedExit> DecodeTrappedExit(const kvm_run& run,
                                              size_t run_size) {
  TrappedExit exit;
  if (run.exit_reason == KVM_EXIT_IO) {
    const uint64_t size = run.io.size;
    if (size != 1 && size != 2 && size != 4) {
      return absl::InvalidArgumentError(
          absl::StrFormat("port exit of size %u: 1, 2 or 4", size));
    }
    if (run.io.count == 0 || run.io.count > kMaxStringElements) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "port exit of %u elements: 1 to %u", run.io.count,
          kMaxStringElements));
    }
    if (run.io.direction != KVM_EXIT_IO_IN &&
        run.io.direction != KVM_EXIT_IO_OUT) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "port exit of direction %u: in (0) or out (1)", run.io.direction));
    }
    const uint64_t bytes = size * run.io.count;
    if (run.io.data_offset < sizeof(kvm_run) || run.io.data_offset > run_size ||
        bytes > run_size - run.io.data_offset) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "port exit data at offset %u, %u bytes: outside the %u-byte run "
          "structure",
          run.io.data_offset, bytes, run_size));
    }
    if (run.io.port + size > 0x10000) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "port exit at %#x of size %u runs past port 0xFFFF", run.io.port,
          size));
    }
    exit.kind = TrappedExit::kPort;
    exit.count = run.io.count;
    exit.data_offset = run.io.data_offset;
    exit.first = run.io.direction == KVM_EXIT_IO_OUT
                     ? PortWrite(run.io.port, size, 0)
                     : PortRead(run.io.port, size);
    exit.first = Element(run, exit, 0);
    return exit;
  }
  if (run.exit_reason == KVM_EXIT_MMIO) {
    const uint64_t size = run.mmio.len;
    if (size < 1 || size > sizeof(run.mmio.data)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("MMIO exit of length %u: 1 to 8", size));
    }
    if (run.mmio.phys_addr + (size - 1) < run.mmio.phys_addr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "MMIO exit at %#x of length %u wraps", run.mmio.phys_addr, size));
    }
    exit.kind = TrappedExit::kMmio;
    exit.count = 1;
    exit.first = run.mmio.is_write
                     ? MmioWrite(run.mmio.phys_addr, size,
                                 LoadLittle(run.mmio.data, size))
                     : MmioRead(run.mmio.phys_addr, size);
    return exit;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "exit reason %u is not an I/O access", run.exit_reason));
}

IoAccess Element(const kvm_run& run, const TrappedExit& exit, uint32_t i) {
  IoAccess access = exit.first;
  if (exit.kind == TrappedExit::kMmio) return access;
  access.value = 0;
  if (access.direction == kDirWrite) {
    const uint8_t* data =
        reinterpret_cast<const uint8_t*>(&run) + exit.data_offset;
    access.value = LoadLittle(data + i * access.size, access.size);
  }
  return access;
}

void CompleteRead(kvm_run& run, const TrappedExit& exit, uint32_t i,
                  uint64_t value) {
  const uint64_t size = exit.first.size;
  value &= SizeMask(size);
  if (exit.kind == TrappedExit::kMmio) {
    std::memset(run.mmio.data, 0, sizeof(run.mmio.data));
    StoreLittle(run.mmio.data, size, value);
    return;
  }
  uint8_t* data = reinterpret_cast<uint8_t*>(&run) + exit.data_offset;
  StoreLittle(data + i * size, size, value);
}

}  // namespace kvm
}  // namespace ioreq
