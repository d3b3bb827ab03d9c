// [cf8cfc] PCI configuration mechanism #1 folded into PCICFG requests.
#include "core/hsm/cf8cfc.h"

#include <cstring>

#include "core/abi/slot_decode.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

IoRequest Pio(const IoAccess& access) {
  IoRequest req;
  std::memset(static_cast<void*>(&req), 0, sizeof(req));
  EncodeAccess(access, req);
  return req;
}

TEST(Cf8Cfc, AddressWriteLatchesAndReadReturnsIt) {
  uint32_t latch = 0;
  IoRequest write = Pio(PortWrite(0xCF8, 4, 0x80001810));
  EXPECT_EQ(HandleCf8Cfc(latch, write), Cf8CfcOutcome::kCompletedInPlace);
  EXPECT_EQ(latch, 0x80001810u);
  IoRequest read = Pio(PortRead(0xCF8, 4));
  EXPECT_EQ(HandleCf8Cfc(latch, read), Cf8CfcOutcome::kCompletedInPlace);
  EXPECT_EQ(read.reqs.pio_request.value, 0x80001810u);
  EXPECT_EQ(read.type, kTypePortIo);
}

TEST(Cf8Cfc, DisabledDataReadGivesAllOnes) {
  uint32_t latch = 0x00001800;  // enable bit clear
  for (uint64_t port = 0xCFC; port <= 0xCFF; ++port) {
    IoRequest read = Pio(PortRead(port, 1));
    EXPECT_EQ(HandleCf8Cfc(latch, read), Cf8CfcOutcome::kCompletedInPlace);
    EXPECT_EQ(read.reqs.pio_request.value, 0xFFFFFFFFu);
  }
}

TEST(Cf8Cfc, DisabledDataWriteIsDropped) {
  uint32_t latch = 0x7FFFFFFF;
  IoRequest write = Pio(PortWrite(0xCFC, 4, 0x12345678));
  EXPECT_EQ(HandleCf8Cfc(latch, write), Cf8CfcOutcome::kCompletedInPlace);
  EXPECT_EQ(write.type, kTypePortIo);
  EXPECT_EQ(write.reqs.pio_request.value, 0x12345678u);
  EXPECT_EQ(latch, 0x7FFFFFFFu);
}

TEST(Cf8Cfc, EnabledDataBecomesPciCfgWithTheFormula) {
  // bus 0x12, dev 0x1f, func 5, reg 0x44 plus extended bits 0xF00.
  const uint32_t a = 0x80000000u | (0xF12u << 16) | (0x1Fu << 11) |
                     (5u << 8) | 0x44u;
  for (uint64_t port = 0xCFC; port <= 0xCFF; ++port) {
    uint32_t latch = a;
    IoRequest req = Pio(PortWrite(port, 1, 0xAB));
    EXPECT_EQ(HandleCf8Cfc(latch, req), Cf8CfcOutcome::kConvertedToPciCfg);
    EXPECT_EQ(req.type, kTypePciCfg);
    EXPECT_EQ(req.reqs.pci_request.bus, 0x12u);
    EXPECT_EQ(req.reqs.pci_request.dev, 0x1Fu);
    EXPECT_EQ(req.reqs.pci_request.func, 5u);
    EXPECT_EQ(req.reqs.pci_request.reg,
              (a & 0xFC) + ((a >> 16) & 0xF00) + (port - 0xCFC));
    // direction, size and value stay.
    EXPECT_EQ(req.reqs.pci_request.direction, kDirWrite);
    EXPECT_EQ(req.reqs.pci_request.size, 1u);
    EXPECT_EQ(req.reqs.pci_request.value, 0xABu);
  }
}

TEST(Cf8Cfc, LowTwoBitsOfTheLatchAreIgnored) {
  uint32_t latch = 0x80000003u;
  IoRequest req = Pio(PortRead(0xCFC, 4));
  EXPECT_EQ(HandleCf8Cfc(latch, req), Cf8CfcOutcome::kConvertedToPciCfg);
  EXPECT_EQ(req.reqs.pci_request.reg, 0u);
}

TEST(Cf8Cfc, OtherPortsAndTypesAreNotTouched) {
  uint32_t latch = 0x80000000u;
  for (uint64_t port : {0xCF7ull, 0xCF9ull, 0xCFBull, 0xD00ull, 0x3F8ull}) {
    IoRequest req = Pio(PortRead(port, 1));
    EXPECT_EQ(HandleCf8Cfc(latch, req), Cf8CfcOutcome::kNotConfigPort);
    EXPECT_EQ(req.type, kTypePortIo);
  }
  IoRequest mmio = Pio(MmioRead(0xCF8, 4));
  EXPECT_EQ(HandleCf8Cfc(latch, mmio), Cf8CfcOutcome::kNotConfigPort);
  EXPECT_EQ(latch, 0x80000000u);
}

TEST(Cf8Cfc, ByteWriteToAddressPortLatchesLikeTheKernel) {
  uint32_t latch = 0;
  IoRequest req = Pio(PortWrite(0xCF8, 1, 0x80));
  EXPECT_EQ(HandleCf8Cfc(latch, req), Cf8CfcOutcome::kCompletedInPlace);
  EXPECT_EQ(latch, 0x80u);
}

}  // namespace
}  // namespace ioreq
