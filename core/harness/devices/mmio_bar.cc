#include "core/harness/devices/mmio_bar.h"

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

absl::Status MmioBar::Handle(IoAccess& a) {
  if (a.type != kTypeMmio || a.size < 1 || a.size > 8 || a.address < base_ ||
      a.address - base_ > memory_.size() - a.size) {  // no overflow
    return absl::InvalidArgumentError(absl::StrFormat(
        "BAR [0x%x, 0x%x]: access 0x%x/%u is not inside", base_, last(),
        a.address, a.size));
  }
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t offset = a.address - base_;
  if (a.direction == kDirRead) {
    uint64_t value = 0;
    for (uint64_t i = 0; i < a.size; ++i) {
      value |= uint64_t{memory_[offset + i]} << (8 * i);
    }
    a.value = value;
    ++reads_;
  } else {
    for (uint64_t i = 0; i < a.size; ++i) {
      memory_[offset + i] = static_cast<uint8_t>(a.value >> (8 * i));
    }
    ++writes_;
  }
  return absl::OkStatus();
}

uint64_t MmioBar::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

uint64_t MmioBar::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

}  // namespace ioreq
