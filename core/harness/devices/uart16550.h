// core/harness/devices/uart16550.h: a 16550-style UART on eight I/O ports.
//
// Enough of the 16550 for a guest driver to probe and print: THR/RBR, IER,
// IIR/FCR, LCR (with DLAB and the divisor latch), MCR, LSR, MSR and the
// scratch register. The receiver is always empty; every byte written to THR
// is counted and summed, so a test knows each write reached the device.
// Accesses wider than a byte act on consecutive registers, byte by byte.
//
// Example:
//   ioreq::Uart16550 uart(0x3f8);
//   hsm.CreateClient(vm, "uart", uart.Handler(), false);
//   hsm.AddRange(id, ioreq::kTypePortIo, uart.base(), uart.last());
#ifndef IOREQ_CORE_HARNESS_DEVICES_UART16550_H_
#define IOREQ_CORE_HARNESS_DEVICES_UART16550_H_

#include <cstdint>
#include <mutex>

#include "absl/status/status.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/client.h"

namespace ioreq {

class Uart16550 {
 public:
  static constexpr uint8_t kLsrThrEmpty = 0x20;
  static constexpr uint8_t kLsrTxEmpty = 0x40;
  static constexpr uint8_t kIirNoInterrupt = 0x01;
  static constexpr uint8_t kLcrDlab = 0x80;

  explicit Uart16550(uint16_t base = 0x3F8) : base_(base) {}

  uint16_t base() const { return base_; }
  uint16_t last() const { return static_cast<uint16_t>(base_ + 7); }

  // Emulates a PORTIO request inside [base, base + 7].
  absl::Status Handle(IoAccess& access);
  IoHandler Handler() {
    return [this](IoAccess& access) { return Handle(access); };
  }

  uint64_t tx_bytes() const;
  uint64_t tx_sum() const;  // sum of every byte written to THR

 private:
  uint8_t ReadRegister(unsigned reg);
  void WriteRegister(unsigned reg, uint8_t value);

  const uint16_t base_;
  mutable std::mutex mu_;
  uint8_t ier_ = 0, lcr_ = 0x03, mcr_ = 0, scr_ = 0, dll_ = 0x0C, dlm_ = 0;
  uint64_t tx_bytes_ = 0, tx_sum_ = 0;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_DEVICES_UART16550_H_
