#include "core/harness/devices/uart16550.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

uint8_t Uart16550::ModemStatus() const {
  if ((mcr_ & kMcrLoopback) == 0) {
    return profile_ == Profile::kAcrn ? kMsrAcrn : kMsrConnected;
  }
  // Loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD.
  return static_cast<uint8_t>(((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5) |
                              ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
}

uint8_t Uart16550::ReadRegister(unsigned reg) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case 0: {  // RBR
      if (dlab) return dll_;
      if (rx_.empty()) return 0;
      const uint8_t byte = rx_.front();
      rx_.pop_front();
      return byte;
    }
    case 1: return dlab ? dlm_ : ier_;
    case 2: {  // IIR: the highest-priority pending interrupt
      const uint8_t fifos = (fcr_ & kFcrEnable) ? kIirFifosEnabled : 0;
      if ((ier_ & kIerReceived) && !rx_.empty()) return fifos | kIirReceived;
      if ((ier_ & kIerThrEmpty) && thr_empty_pending_) {
        thr_empty_pending_ = false;  // reading IIR clears it
        return fifos | kIirThrEmpty;
      }
      return fifos | kIirNoInterrupt;
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: {  // LSR; reading it clears the overrun
      uint8_t lsr = kLsrThrEmpty | kLsrTxEmpty;
      if (!rx_.empty()) lsr |= kLsrDataReady;
      if (overrun_) lsr |= kLsrOverrun;
      overrun_ = false;
      return lsr;
    }
    case 6: return ModemStatus();
    default: return scr_;
  }
}

void Uart16550::WriteRegister(unsigned reg, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case 0:
      if (dlab) {
        dll_ = value;
      } else if (mcr_ & kMcrLoopback) {
        // Looped back: received, not transmitted.
        if (rx_.size() < ((fcr_ & kFcrEnable) ? kFifoBytes : 1)) {
          rx_.push_back(value);
        } else {
          overrun_ = true;
        }
        thr_empty_pending_ = true;
      } else {
        ++tx_bytes_;
        tx_sum_ += value;
        if (sink_) sink_(value);
        thr_empty_pending_ = true;  // sent at once: THR is empty again
      }
      break;
    case 1:
      if (dlab) {
        dlm_ = value;
      } else {
        // Enabling the THR-empty interrupt with THR empty raises it.
        if ((value & kIerThrEmpty) && !(ier_ & kIerThrEmpty)) {
          thr_empty_pending_ = true;
        }
        ier_ = value & 0x0F;
      }
      break;
    case 2:  // FCR
      fcr_ = value & (kFcrEnable | 0xC0);
      if ((value & kFcrClearRx) || !(value & kFcrEnable)) rx_.clear();
      break;
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
  if (profile_ == Profile::kAcrn && a.size > 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "UART at 0x%x: a %u-byte access (ACRN's UART takes 1 and 2)", base_,
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

void Uart16550::SetTransmitSink(std::function<void(uint8_t)> sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = std::move(sink);
}

}  // namespace ioreq
