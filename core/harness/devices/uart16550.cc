#include "core/harness/devices/uart16550.h"

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

uint8_t Uart16550::ReadRegister(unsigned reg) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case 0: return dlab ? dll_ : 0;  // RBR: nothing received
    case 1: return dlab ? dlm_ : ier_;
    case 2: return kIirNoInterrupt;
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: return kLsrThrEmpty | kLsrTxEmpty;
    case 6: return 0;  // MSR
    default: return scr_;
  }
}

void Uart16550::WriteRegister(unsigned reg, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case 0:
      if (dlab) {
        dll_ = value;
      } else {
        ++tx_bytes_;
        tx_sum_ += value;
      }
      break;
    case 1:
      if (dlab) dlm_ = value; else ier_ = value & 0x0F;
      break;
    case 2: break;  // FCR: FIFOs are not modelled
    case 3: lcr_ = value; break;
    case 4: mcr_ = value & 0x1F; break;
    case 5: case 6: break;  // read-only
    default: scr_ = value; break;
  }
}

absl::Status Uart16550::Handle(IoAccess& a) {
  if (a.type != kTypePortIo || a.size < 1 || a.size > 4 || a.address < base_ ||
      a.address > last() - (a.size - 1)) {  // no overflow
    return absl::InvalidArgumentError(absl::StrFormat(
        "UART at 0x%x: access 0x%x/%u is not its own", base_, a.address,
        a.size));
  }
  std::lock_guard<std::mutex> lock(mu_);
  const unsigned first = static_cast<unsigned>(a.address - base_);
  if (a.direction == kDirRead) {
    uint64_t value = 0;
    for (unsigned i = 0; i < a.size; ++i) {
      value |= uint64_t{ReadRegister(first + i)} << (8 * i);
    }
    a.value = value;
  } else {
    for (unsigned i = 0; i < a.size; ++i) {
      WriteRegister(first + i, static_cast<uint8_t>(a.value >> (8 * i)));
    }
  }
  return absl::OkStatus();
}

uint64_t Uart16550::tx_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tx_bytes_;
}

uint64_t Uart16550::tx_sum() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tx_sum_;
}

}  // namespace ioreq
