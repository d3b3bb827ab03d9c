// core/harness/devices/uart16550.h: a 16550-style UART on eight I/O ports.
//
// Enough of the 16550A for Linux's 8250 driver to probe it as one and print
// through it: THR/RBR, IER (its low four bits), IIR/FCR (FIFO-enabled bits
// 0xC0 once FCR enables the FIFOs, the THR-empty interrupt while IER asks
// for it), LCR with DLAB and the divisor latch, MCR with loopback (bit 4:
// MSR's CTS, DSR, RI and DCD follow RTS, DTR, OUT1 and OUT2, and what is
// written to THR comes back through RBR), LSR, MSR (carrier, data set
// ready and clear to send asserted, as a connected line and QEMU's 16550
// have it) and the scratch register. Outside loopback every byte written to
// THR is transmitted at once, counted and summed, so a test knows each
// write reached the device; nothing is ever received from outside.
// Accesses wider than a byte act on consecutive registers, byte by byte.
//
// Example:
//   ioreq::Uart16550 uart(0x3f8);
//   hsm.CreateClient(vm, "uart", uart.Handler(), false);
//   hsm.AddRange(id, ioreq::kTypePortIo, uart.base(), uart.last());
#ifndef IOREQ_CORE_HARNESS_DEVICES_UART16550_H_
#define IOREQ_CORE_HARNESS_DEVICES_UART16550_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "absl/status/status.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/client.h"
#include "core/profile/profile.h"

namespace ioreq {

class Uart16550 {
 public:
  static constexpr uint8_t kLsrDataReady = 0x01;
  static constexpr uint8_t kLsrOverrun = 0x02;
  static constexpr uint8_t kLsrThrEmpty = 0x20;
  static constexpr uint8_t kLsrTxEmpty = 0x40;
  static constexpr uint8_t kIirNoInterrupt = 0x01;
  static constexpr uint8_t kIirThrEmpty = 0x02;
  static constexpr uint8_t kIirReceived = 0x04;
  static constexpr uint8_t kIirFifosEnabled = 0xC0;
  static constexpr uint8_t kIerReceived = 0x01;
  static constexpr uint8_t kIerThrEmpty = 0x02;
  static constexpr uint8_t kFcrEnable = 0x01;
  static constexpr uint8_t kFcrClearRx = 0x02;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrLoopback = 0x10;
  // MSR of a connected line: DCD, DSR and CTS asserted.
  static constexpr uint8_t kMsrConnected = 0xB0;
  // [acrn-devices] ACRN's UART (devicemodel/hw/uart_core.c) asserts DCD and
  // DSR only.
  static constexpr uint8_t kMsrAcrn = 0xA0;
  static constexpr size_t kFifoBytes = 16;

  // Under Profile::kAcrn it answers as ACRN's LPC UART
  // (devicemodel/hw/platform/lpc.c): 1- and 2-byte accesses only (a 4-byte
  // one is refused, and the device model's caller answers it), and MSR
  // kMsrAcrn [acrn-devices].
  explicit Uart16550(uint16_t base = 0x3F8,
                     Profile profile = Profile::kHardened)
      : base_(base), profile_(profile) {}

  uint16_t base() const { return base_; }
  uint16_t last() const { return static_cast<uint16_t>(base_ + 7); }

  // Emulates a PORTIO request inside [base, base + 7].
  absl::Status Handle(IoAccess& access);
  IoHandler Handler() {
    return [this](IoAccess& access) { return Handle(access); };
  }

  uint64_t tx_bytes() const;
  uint64_t tx_sum() const;  // sum of every byte written to THR

  // Every transmitted byte also goes to `sink` (a console), called with
  // the UART's lock held, in order; set it before the guest runs.
  void SetTransmitSink(std::function<void(uint8_t)> sink);

 private:
  uint8_t ReadRegister(unsigned reg);
  void WriteRegister(unsigned reg, uint8_t value);

  uint8_t ModemStatus() const;

  const uint16_t base_;
  const Profile profile_;
  mutable std::mutex mu_;  // guards everything below
  uint8_t ier_ = 0, lcr_ = 0x03, mcr_ = 0, scr_ = 0, dll_ = 0x0C, dlm_ = 0;
  uint8_t fcr_ = 0;
  bool thr_empty_pending_ = false;  // the THRE interrupt, until IIR shows it
  bool overrun_ = false;            // a loopback byte found the FIFO full
  std::deque<uint8_t> rx_;          // received (loopback) bytes
  uint64_t tx_bytes_ = 0, tx_sum_ = 0;
  std::function<void(uint8_t)> sink_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_DEVICES_UART16550_H_
