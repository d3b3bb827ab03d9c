// core/harness/devices/mmio_bar.h: an MMIO BAR backed by memory.
//
// A read returns what was last written, byte for byte, little-endian; a
// fresh BAR reads zero. Accesses of 1, 2, 4 or 8 bytes anywhere inside the
// BAR (unaligned too).
//
// Example:
//   ioreq::MmioBar bar(0xf0000000, 0x1000);
//   hsm.AddRange(id, ioreq::kTypeMmio, bar.base(), bar.last());
#ifndef IOREQ_CORE_HARNESS_DEVICES_MMIO_BAR_H_
#define IOREQ_CORE_HARNESS_DEVICES_MMIO_BAR_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/client.h"

namespace ioreq {

class MmioBar {
 public:
  MmioBar(uint64_t base, uint64_t size) : base_(base), memory_(size, 0) {}

  uint64_t base() const { return base_; }
  uint64_t last() const { return base_ + memory_.size() - 1; }

  absl::Status Handle(IoAccess& access);
  IoHandler Handler() {
    return [this](IoAccess& access) { return Handle(access); };
  }

  uint64_t reads() const;
  uint64_t writes() const;

 private:
  const uint64_t base_;
  mutable std::mutex mu_;
  std::vector<uint8_t> memory_;  // guarded by mu_
  uint64_t reads_ = 0, writes_ = 0;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_DEVICES_MMIO_BAR_H_
