// The device models the tests and the stress command use, each handed a
// decoded access as the HSM hands it.
#include <tuple>

#include "core/harness/devices/mmio_bar.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/devices/uart16550.h"
#include "core/abi/slot_decode.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

TEST(Uart16550, LineStatusSaysTransmitterEmpty) {
  Uart16550 uart(0x3F8);
  IoAccess lsr = PortRead(0x3FD, 1);
  ASSERT_TRUE(uart.Handle(lsr).ok());
  EXPECT_EQ(lsr.value, 0x60u);
  IoAccess iir = PortRead(0x3FA, 1);
  ASSERT_TRUE(uart.Handle(iir).ok());
  EXPECT_EQ(iir.value, 0x01u);
}

// Linux's 8250 autoconfig, step by step (drivers/tty/serial/8250/
// 8250_port.c): it must find a 16550A with working FIFOs.
uint64_t In(Uart16550& uart, uint64_t port) {
  IoAccess r = PortRead(port, 1);
  EXPECT_TRUE(uart.Handle(r).ok());
  return r.value;
}
void Out(Uart16550& uart, uint64_t port, uint64_t value) {
  IoAccess w = PortWrite(port, 1, value);
  EXPECT_TRUE(uart.Handle(w).ok());
}

TEST(Uart16550, LinuxProbesItAsA16550A) {
  Uart16550 uart(0x3F8);
  // IER holds its low four bits only.
  Out(uart, 0x3F9, 0);
  EXPECT_EQ(In(uart, 0x3F9) & 0x0F, 0u);
  Out(uart, 0x3F9, 0xFF);
  EXPECT_EQ(In(uart, 0x3F9), 0x0Fu);
  Out(uart, 0x3F9, 0);
  // Loopback with OUT2 and RTS: MSR's upper nibble reads DCD and CTS.
  Out(uart, 0x3FC, 0x10 | 0x0A);
  EXPECT_EQ(In(uart, 0x3FE) & 0xF0, 0x90u);
  Out(uart, 0x3FC, 0);
  // FCR enables the FIFOs: IIR's top bits say 16550A.
  Out(uart, 0x3FA, 0x01);
  EXPECT_EQ(In(uart, 0x3FA) >> 6, 3u);
  EXPECT_EQ(In(uart, 0x3FA), 0xC1u);
  Out(uart, 0x3FA, 0);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
  // Not in loopback the line is connected.
  EXPECT_EQ(In(uart, 0x3FE), uint64_t{Uart16550::kMsrConnected});
}

TEST(Uart16550, LoopbackEchoesThroughTheReceiver) {
  Uart16550 uart(0x3F8);
  Out(uart, 0x3FA, 0x07);  // FIFOs on, both cleared
  Out(uart, 0x3FC, 0x10);  // loopback
  for (uint8_t c : {'o', 'k'}) Out(uart, 0x3F8, c);
  EXPECT_EQ(uart.tx_bytes(), 0u);  // looped back, not sent
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrDataReady, 1u);
  Out(uart, 0x3F9, 0x01);  // received-data interrupt
  EXPECT_EQ(In(uart, 0x3FA), 0xC4u);
  EXPECT_EQ(In(uart, 0x3F8), uint64_t{'o'});
  EXPECT_EQ(In(uart, 0x3F8), uint64_t{'k'});
  EXPECT_EQ(In(uart, 0x3FD), 0x60u);  // empty again
  // More than the FIFO holds: the rest is an overrun, shown once.
  for (int i = 0; i < 20; ++i) Out(uart, 0x3F8, i);
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrOverrun, uint64_t{Uart16550::kLsrOverrun});
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrOverrun, 0u);
}

TEST(Uart16550, ThrEmptyInterruptIsRaisedAndClearedByIir) {
  Uart16550 uart(0x3F8);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
  Out(uart, 0x3F9, 0x02);  // enabling it with THR empty raises it
  EXPECT_EQ(In(uart, 0x3FA), 0x02u);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);  // reading IIR cleared it
  Out(uart, 0x3F8, 'x');              // sent at once: THR empty again
  EXPECT_EQ(In(uart, 0x3FA), 0x02u);
  EXPECT_EQ(uart.tx_bytes(), 1u);
}

TEST(Uart16550, TransmitCountsEveryByte) {
  Uart16550 uart(0x3F8);
  for (uint8_t c : {'h', 'i', '\n'}) {
    IoAccess thr = PortWrite(0x3F8, 1, c);
    ASSERT_TRUE(uart.Handle(thr).ok());
  }
  EXPECT_EQ(uart.tx_bytes(), 3u);
  EXPECT_EQ(uart.tx_sum(), uint64_t{'h'} + 'i' + '\n');
}

TEST(Uart16550, DlabSelectsTheDivisorLatch) {
  Uart16550 uart(0x3F8);
  IoAccess lcr = PortWrite(0x3FB, 1, 0x83);
  ASSERT_TRUE(uart.Handle(lcr).ok());
  IoAccess dll = PortWrite(0x3F8, 1, 0x01);
  ASSERT_TRUE(uart.Handle(dll).ok());
  EXPECT_EQ(uart.tx_bytes(), 0u);  // not a transmit
  IoAccess back = PortRead(0x3F8, 2);  // DLL, DLM
  ASSERT_TRUE(uart.Handle(back).ok());
  EXPECT_EQ(back.value, 0x0001u);
}

// A wide write acts on consecutive registers, low byte first; with DLAB set
// the divisor latch takes what IER would.
TEST(Uart16550, DlabSelectsTheDivisorLatchForWritesToo) {
  Uart16550 uart(0x3F8);
  Out(uart, 0x3FB, 0x83);
  IoAccess divisor = PortWrite(0x3F8, 2, 0x1234);  // DLL 0x34, DLM 0x12
  ASSERT_TRUE(uart.Handle(divisor).ok());
  EXPECT_EQ(In(uart, 0x3F8), 0x34u);
  EXPECT_EQ(In(uart, 0x3F9), 0x12u);
  Out(uart, 0x3FB, 0x03);
  EXPECT_EQ(In(uart, 0x3F9), 0u);  // IER untouched
  EXPECT_EQ(uart.tx_bytes(), 0u);
}

// Loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD, one by one.
TEST(Uart16550, LoopbackMapsEachModemControlLineToItsStatusBit) {
  Uart16550 uart(0x3F8);
  const struct { uint8_t mcr, msr; } lines[] = {
      {0x01, 0x20}, {0x02, 0x10}, {0x04, 0x40}, {0x08, 0x80}};
  for (const auto& line : lines) {
    Out(uart, 0x3FC, 0x10 | line.mcr);
    EXPECT_EQ(In(uart, 0x3FE), line.msr) << int{line.mcr};
  }
  Out(uart, 0x3FC, 0x10);
  EXPECT_EQ(In(uart, 0x3FE), 0u);
}

// FCR empties the receiver when told to (bit 1) and when the FIFOs are
// turned off, not otherwise.
TEST(Uart16550, TheReceiverIsClearedOnlyWhenAskedOrWhenFifosGoOff) {
  Uart16550 uart(0x3F8);
  Out(uart, 0x3FA, 0x01);
  Out(uart, 0x3FC, 0x10);
  Out(uart, 0x3F8, 'a');
  Out(uart, 0x3F8, 'b');
  Out(uart, 0x3FA, 0x01);  // FIFOs stay on, nothing cleared
  EXPECT_EQ(In(uart, 0x3F8), uint64_t{'a'});
  Out(uart, 0x3FA, 0x03);  // clear the receiver
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrDataReady, 0u);
  Out(uart, 0x3F8, 'c');
  Out(uart, 0x3FA, 0x00);  // FIFOs off
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrDataReady, 0u);
}

// Without FIFOs the receiver holds one byte: a second is an overrun.
TEST(Uart16550, WithoutFifosTheReceiverHoldsOneByte) {
  Uart16550 uart(0x3F8);
  Out(uart, 0x3FC, 0x10);
  Out(uart, 0x3F8, 'a');
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrOverrun, 0u);
  Out(uart, 0x3F8, 'b');
  EXPECT_EQ(In(uart, 0x3FD),
            uint64_t{Uart16550::kLsrOverrun | Uart16550::kLsrDataReady | 0x60});
  EXPECT_EQ(In(uart, 0x3F8), uint64_t{'a'});
  EXPECT_EQ(In(uart, 0x3FD) & Uart16550::kLsrDataReady, 0u);
}

TEST(Uart16550, AnEmptyReceiverReadsZero) {
  Uart16550 uart(0x3F8);
  EXPECT_EQ(In(uart, 0x3F8), 0u);
  EXPECT_EQ(In(uart, 0x3FD), 0x60u);
}

// Only turning the THR-empty interrupt on raises it; writing IER again with
// it already on, or turning on another source, does not.
TEST(Uart16550, OnlyTurningTheThrEmptyInterruptOnRaisesIt) {
  Uart16550 uart(0x3F8);
  Out(uart, 0x3F9, 0x01);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
  Out(uart, 0x3F9, 0x03);
  EXPECT_EQ(In(uart, 0x3FA), 0x02u);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
  Out(uart, 0x3F9, 0x03);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
  Out(uart, 0x3F9, 0x02);
  EXPECT_EQ(In(uart, 0x3FA), 0x01u);
}

TEST(Uart16550, ScratchRegisterReadsBack) {
  Uart16550 uart(0x2F8);
  IoAccess w = PortWrite(0x2FF, 1, 0xA5);
  ASSERT_TRUE(uart.Handle(w).ok());
  IoAccess r = PortRead(0x2FF, 1);
  ASSERT_TRUE(uart.Handle(r).ok());
  EXPECT_EQ(r.value, 0xA5u);
  IoAccess outside = PortRead(0x3F8, 1);
  EXPECT_FALSE(uart.Handle(outside).ok());
}

TEST(MmioBar, ReadReturnsWhatWasWritten) {
  MmioBar bar(0xF0000000, 0x100);
  IoAccess w = MmioWrite(0xF0000010, 8, 0x0102030405060708);
  ASSERT_TRUE(bar.Handle(w).ok());
  IoAccess r4 = MmioRead(0xF0000012, 4);
  ASSERT_TRUE(bar.Handle(r4).ok());
  EXPECT_EQ(r4.value, 0x03040506u);
  IoAccess fresh = MmioRead(0xF0000080, 8);
  ASSERT_TRUE(bar.Handle(fresh).ok());
  EXPECT_EQ(fresh.value, 0u);
  EXPECT_EQ(bar.writes(), 1u);
  EXPECT_EQ(bar.reads(), 2u);
}

TEST(MmioBar, AccessOutsideIsAnError) {
  MmioBar bar(0x1000, 0x10);
  IoAccess r = MmioRead(0x100C, 8);
  EXPECT_FALSE(bar.Handle(r).ok());
}

TEST(PciConfigSpace, IdsClassAndAbsentFunctions) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  EXPECT_EQ(pci.Read(0, 3, 0, 0x00, 4), 0x10001AF4u);
  EXPECT_EQ(pci.Read(0, 0, 0, 0x00, 2), 0x8086u);
  EXPECT_EQ(pci.Read(0, 3, 0, 0x0B, 1), 0x02u);
  EXPECT_EQ(pci.Read(0, 5, 0, 0x00, 4), 0xFFFFFFFFu);
  EXPECT_EQ(pci.Read(0, 5, 0, 0x00, 2), 0xFFFFu);
}

// The stress command's VMs find these four functions, and nothing beside
// them: IDs, class code (class, subclass, programming interface) and INTA#.
TEST(PciConfigSpace, TheStandardDevicesAreWhereTheStressRigFindsThem) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  const struct {
    uint32_t bus, dev, func, ids, class_reg;
  } devices[] = {{0, 0, 0, 0x12378086, 0x06000000},
                 {0, 3, 0, 0x10001AF4, 0x02000000},
                 {0, 4, 0, 0x00051B36, 0x00FF0000},
                 {1, 0, 0, 0x10011AF4, 0x01000000}};
  for (const auto& d : devices) {
    EXPECT_EQ(pci.Read(d.bus, d.dev, d.func, 0x00, 4), d.ids) << d.dev;
    EXPECT_EQ(pci.Read(d.bus, d.dev, d.func, 0x08, 4), d.class_reg) << d.dev;
    EXPECT_EQ(pci.Read(d.bus, d.dev, d.func, 0x3D, 1), 1u) << d.dev;
  }
  for (const auto& [bus, dev, func] :
       {std::tuple{1, 0, 1}, std::tuple{1, 1, 0}, std::tuple{2, 0, 0}}) {
    EXPECT_EQ(pci.Read(bus, dev, func, 0x00, 4), 0xFFFFFFFFu);
  }
}

// The space is 4 KiB: its last dword is a register like any other.
TEST(PciConfigSpace, TheLastDwordIsInsideAndFiveBytesAreNot) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  EXPECT_EQ(pci.Read(0, 4, 0, 0xFFC, 4), 0u);
  pci.Write(0, 4, 0, 0xFFC, 4, 0xA1B2C3D4);
  EXPECT_EQ(pci.Read(0, 4, 0, 0xFFC, 4), 0xA1B2C3D4u);
  EXPECT_EQ(pci.Read(0, 4, 0, 0x40, 5), 0xFFFFFFFFu);
  pci.Write(0, 4, 0, 0x40, 5, 0x11223344);
  EXPECT_EQ(pci.Read(0, 4, 0, 0x40, 4), 0u);
}

// A write is its size: one byte written leaves the next; a write to an
// absent function creates nothing.
TEST(PciConfigSpace, AWriteIsItsSizeAndAnAbsentFunctionTakesNone) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  pci.Write(0, 4, 0, 0x40, 1, 0xFFFFFFFF);
  EXPECT_EQ(pci.Read(0, 4, 0, 0x40, 4), 0xFFu);
  pci.Write(2, 0, 0, 0x40, 4, 0x12345678);
  EXPECT_EQ(pci.Read(2, 0, 0, 0x40, 4), 0xFFFFFFFFu);
}

// The device model the stress command runs answers configuration requests
// from the space, and counts only what is not one.
TEST(PciConfigSpace, TheDefaultDeviceModelServesConfigurationRequests) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  IoHandler dm = pci.DefaultDeviceModel();
  IoAccess r;
  r.type = kTypePciCfg;
  r.direction = kDirRead;
  r.size = 2;
  r.address = 0;
  ASSERT_TRUE(dm(r).ok());
  EXPECT_EQ(r.value, 0x8086u);
  EXPECT_EQ(pci.unclaimed(), 0u);
}

TEST(PciConfigSpace, HeaderIsReadOnlyButCommandAndDeviceSpaceAreNot) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  pci.Write(0, 3, 0, 0x00, 4, 0);  // vendor/device: read-only
  EXPECT_EQ(pci.Read(0, 3, 0, 0x00, 4), 0x10001AF4u);
  pci.Write(0, 3, 0, 0x04, 2, 0x0007);
  EXPECT_EQ(pci.Read(0, 3, 0, 0x04, 2), 0x0007u);
  pci.Write(0, 3, 0, 0x3C, 1, 11);
  EXPECT_EQ(pci.Read(0, 3, 0, 0x3C, 1), 11u);
  pci.Write(0, 3, 0, 0x100, 4, 0xCAFEF00D);
  EXPECT_EQ(pci.Read(0, 3, 0, 0x100, 4), 0xCAFEF00Du);
}

// A hostile hypervisor can put any reg and size into a request; a device
// must neither shift past its width nor index past its memory (the stress
// command's garbage fault found the shift under UBSan).
TEST(PciConfigSpace, HostileRegAndSizeAreAnsweredAllOnes) {
  PciConfigSpace pci;
  pci.AddStandardDevices();
  EXPECT_EQ(pci.Read(0, 3, 0, 0x00, 8), 0xFFFFFFFFu);           // size > 4
  EXPECT_EQ(pci.Read(0, 3, 0, 0x00, 0), 0xFFFFFFFFu);           // size 0
  EXPECT_EQ(pci.Read(0, 3, 0, 0xFFFFFFFF, 4), 0xFFFFFFFFu);     // reg + size wraps
  EXPECT_EQ(pci.Read(0, 3, 0, 0xFFE, 4), 0xFFFFFFFFu);          // past the end
  pci.Write(0, 3, 0, 0xFFFFFFFF, 4, 0);                         // ignored
  pci.Write(0, 3, 0, 0x40, 8, 0x11223344);                      // ignored
  EXPECT_EQ(pci.Read(0, 3, 0, 0x40, 4), 0u);
  IoAccess r;
  r.type = kTypePciCfg;
  r.direction = kDirRead;
  r.size = 8;
  r.dev = 3;
  ASSERT_TRUE(pci.Handle(r).ok());
  EXPECT_EQ(r.value, 0xFFFFFFFFu);
}

// Every byte of a wide write lands, in order, and nothing past it.
TEST(MmioBar, EveryByteOfAWideWriteLandsAndNoMore) {
  MmioBar bar(0x1000, 0x10);
  IoAccess w = MmioWrite(0x1004, 8, 0x0807060504030201);
  ASSERT_TRUE(bar.Handle(w).ok());
  for (uint64_t i = 0; i < 8; ++i) {
    IoAccess r = MmioRead(0x1004 + i, 1);
    ASSERT_TRUE(bar.Handle(r).ok());
    EXPECT_EQ(r.value, i + 1) << i;
  }
  for (uint64_t outside : {0x1003, 0x100C}) {
    IoAccess r = MmioRead(outside, 1);
    ASSERT_TRUE(bar.Handle(r).ok());
    EXPECT_EQ(r.value, 0u) << outside;
  }
}

// Inside is exact: an access may end on the BAR's last byte and not one
// past it, start on its first and not one before; sizes 1 to 8, MMIO only.
TEST(MmioBar, TheBoundsAreExact) {
  MmioBar bar(0x1000, 0x10);
  for (uint64_t size = 1; size <= 8; ++size) {
    IoAccess last = MmioRead(0x1010 - size, size);
    EXPECT_TRUE(bar.Handle(last).ok()) << size;
    IoAccess past = MmioRead(0x1011 - size, size);
    EXPECT_FALSE(bar.Handle(past).ok()) << size;
    IoAccess first = MmioRead(0x1000, size);
    EXPECT_TRUE(bar.Handle(first).ok()) << size;
    IoAccess before = MmioRead(0x0FFF, size);
    EXPECT_FALSE(bar.Handle(before).ok()) << size;
  }
  for (uint64_t size : {0, 9, 16}) {
    IoAccess r = MmioRead(0x1000, 1);
    r.size = size;
    EXPECT_FALSE(bar.Handle(r).ok()) << size;
  }
  IoAccess port = PortRead(0x1000, 1);
  EXPECT_FALSE(bar.Handle(port).ok());
}

TEST(MmioBar, AddressNearTheTopDoesNotWrap) {
  MmioBar bar(0x1000, 0x10);
  IoAccess r = MmioRead(0x1000, 8);
  r.address = ~uint64_t{0} - 2;
  EXPECT_FALSE(bar.Handle(r).ok());
}

TEST(Uart16550, HostileSizeIsAnError) {
  Uart16550 uart(0x3F8);
  for (uint64_t size : {uint64_t{0}, uint64_t{5}, uint64_t{8}, uint64_t{1} << 40}) {
    IoAccess r = PortRead(0x3F8, 1);
    r.size = size;
    EXPECT_FALSE(uart.Handle(r).ok()) << size;
  }
}

TEST(PciConfigSpace, DefaultDeviceModelAnswersUnclaimedReadsAllOnes) {
  PciConfigSpace pci;
  IoHandler dm = pci.DefaultDeviceModel();
  IoAccess r = MmioRead(0xDEAD0000, 4);
  ASSERT_TRUE(dm(r).ok());
  EXPECT_EQ(r.value & 0xFFFFFFFF, 0xFFFFFFFFu);
  EXPECT_EQ(pci.unclaimed(), 1u);
}

// [acrn-devices] ACRN's UART: DCD|DSR in MSR, and no 4-byte access; the
// hardened UART asserts CTS too and takes any size up to 4.
TEST(Uart16550, AcrnProfileAnswersAsAcrnsUart) {
  Uart16550 acrn(0x3F8, Profile::kAcrn);
  EXPECT_EQ(In(acrn, 0x3FE), uint64_t{Uart16550::kMsrAcrn});
  IoAccess wide = PortRead(0x3F8, 4);
  EXPECT_FALSE(acrn.Handle(wide).ok());
  IoAccess two = PortRead(0x3FD, 2);  // LSR and MSR, as two byte reads
  ASSERT_TRUE(acrn.Handle(two).ok());
  EXPECT_EQ(two.value, 0x60u | uint64_t{Uart16550::kMsrAcrn} << 8);

  Uart16550 hardened(0x3F8);
  EXPECT_EQ(In(hardened, 0x3FE), uint64_t{Uart16550::kMsrConnected});
  IoAccess wide_ok = PortRead(0x3F8, 4);
  EXPECT_TRUE(hardened.Handle(wide_ok).ok());
}

// [acrn-devices] ACRN's PCI core: unaligned accesses and registers at or
// above 0x100 of an emulated device are answered without the space (0 for
// 0x100..0x103, the absent extended capability header, up to pci_cfgrw()'s
// PCI_REGMAX + 4; all-ones above);
// the hardened space is 4 KiB of registers, read at any alignment.
TEST(PciConfigSpace, AcrnProfileAnswersAsAcrnsPciCore) {
  PciConfigSpace acrn(Profile::kAcrn);
  PciConfigSpace hardened;
  for (PciConfigSpace* pci : {&acrn, &hardened}) {
    pci->AddStandardDevices();
    pci->Write(0, 4, 0, 0x40, 4, 0x11223344);
    pci->Write(0, 4, 0, 0x200, 4, 0xA5A5A5A5);
  }
  // Aligned, below 0x100: the same under both.
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x40, 4), 0x11223344u);
  EXPECT_EQ(hardened.Read(0, 4, 0, 0x40, 4), 0x11223344u);
  // Unaligned: 0x41 size 2.
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x41, 2), 0xFFFFFFFFu);
  EXPECT_EQ(hardened.Read(0, 4, 0, 0x41, 2), 0x2233u);
  acrn.Write(0, 4, 0, 0x42, 4, 0);  // unaligned write: ignored
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x40, 4), 0x11223344u);
  // Extended space.
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x100, 4), 0u);
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x102, 2), 0u);
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x103, 1), 0u);
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x104, 4), 0xFFFFFFFFu);  // past PCI_REGMAX + 4
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x104, 1), 0xFFFFFFFFu);
  // Three bytes: ACRN refuses the size; the hardened space reads them.
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x40, 3), 0xFFFFFFFFu);
  EXPECT_EQ(hardened.Read(0, 4, 0, 0x40, 3), 0x223344u);
  acrn.Write(0, 4, 0, 0x40, 3, 0);
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x40, 4), 0x11223344u);
  hardened.Write(0, 4, 0, 0x40, 3, 0);
  EXPECT_EQ(hardened.Read(0, 4, 0, 0x40, 4), 0x11000000u);
  EXPECT_EQ(acrn.Read(0, 4, 0, 0x200, 4), 0xFFFFFFFFu);
  EXPECT_EQ(hardened.Read(0, 4, 0, 0x200, 4), 0xA5A5A5A5u);
  // No device: all-ones under both.
  EXPECT_EQ(acrn.Read(0, 9, 0, 0, 2), 0xFFFFu);
  EXPECT_EQ(hardened.Read(0, 9, 0, 0, 2), 0xFFFFu);
}

}  // namespace
}  // namespace ioreq
