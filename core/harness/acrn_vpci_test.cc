// Which configuration accesses ACRN's hypervisor answers itself and which
// reach the HSM [acrn-vpci].
#include "core/harness/acrn_vpci.h"

#include <vector>

#include "core/hsm/cf8cfc.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

constexpr uint32_t kEnable = 0x80000000u;

uint32_t Address(uint32_t bus, uint32_t dev, uint32_t func, uint32_t reg) {
  return kEnable | bus << 16 | dev << 11 | func << 8 | reg;
}

TEST(AcrnVpciTest, OtherPortsAndMmioAreForwarded) {
  AcrnVpci vpci;
  for (const IoAccess& a :
       {PortRead(0x3F8, 1), PortWrite(0x80, 1, 0), PortRead(0xCF9, 1),
        PortWrite(0xCFA, 2, 0), PortRead(0xD00, 4), MmioRead(0xCF8, 4),
        MmioWrite(0xCFC, 4, 1)}) {
    EXPECT_EQ(vpci.Filter(a).verdict, VpciVerdict::kForward)
        << a.address << " size " << a.size;
  }
}

TEST(AcrnVpciTest, AddressReadIsAnsweredInTheHypervisor) {
  AcrnVpci vpci;
  const uint32_t address = Address(0, 4, 0, 0x40);
  ASSERT_EQ(vpci.Filter(PortWrite(kPciConfigAddressPort, 4, address)).verdict,
            VpciVerdict::kForward);
  VpciOutcome o = vpci.Filter(PortRead(kPciConfigAddressPort, 4));
  EXPECT_EQ(o.verdict, VpciVerdict::kHandled);
  EXPECT_EQ(o.value, address);
  // A read of another size is all-ones, at its size.
  o = vpci.Filter(PortRead(kPciConfigAddressPort, 2));
  EXPECT_EQ(o.verdict, VpciVerdict::kHandled);
  EXPECT_EQ(o.value, 0xFFFFu);
}

TEST(AcrnVpciTest, AddressWriteOfSizeOtherThanFourIsDropped) {
  AcrnVpci vpci;
  for (uint32_t size : {1u, 2u}) {
    VpciOutcome o = vpci.Filter(PortWrite(kPciConfigAddressPort, size, 0xFF));
    EXPECT_EQ(o.verdict, VpciVerdict::kHandled) << size;
  }
  EXPECT_EQ(vpci.latch(), 0u);
}

TEST(AcrnVpciTest, AddressWriteClearsReservedBits) {
  AcrnVpci vpci;
  vpci.Filter(PortWrite(kPciConfigAddressPort, 4, 0xFFFFFFFF));
  EXPECT_EQ(vpci.latch(), 0x80FFFFFCu);
}

TEST(AcrnVpciTest, DataAccessConsumesTheLatch) {
  AcrnVpci vpci;
  vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 4, 0, 0)));
  EXPECT_EQ(vpci.Filter(PortRead(kPciConfigDataPort, 4)).verdict,
            VpciVerdict::kForward);
  EXPECT_EQ(vpci.latch(), 0u);
  // A second data access without a new address: disabled, answered here.
  VpciOutcome o = vpci.Filter(PortRead(kPciConfigDataPort + 2, 2));
  EXPECT_EQ(o.verdict, VpciVerdict::kHandled);
  EXPECT_EQ(o.value, 0xFFFFu);
  EXPECT_EQ(vpci.Filter(PortWrite(kPciConfigDataPort, 4, 7)).verdict,
            VpciVerdict::kHandled);
}

TEST(AcrnVpciTest, DisabledAddressIsAnsweredAllOnes) {
  AcrnVpci vpci;
  for (uint32_t size : {1u, 2u, 4u}) {
    vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 3, 0, 0) & ~kEnable));
    VpciOutcome o = vpci.Filter(PortRead(kPciConfigDataPort, size));
    EXPECT_EQ(o.verdict, VpciVerdict::kHandled) << size;
    EXPECT_EQ(o.value, SizeMask(size)) << size;
  }
}

TEST(AcrnVpciTest, UnalignedDataAccessIsAnsweredAllOnes) {
  AcrnVpci vpci;
  struct Case {
    uint64_t port;
    uint32_t size;
    bool forwarded;
  };
  for (const Case& c : std::vector<Case>{{0xCFC, 4, true},
                                         {0xCFD, 4, false},
                                         {0xCFD, 2, false},
                                         {0xCFE, 2, true},
                                         {0xCFF, 2, false},
                                         {0xCFF, 1, true},
                                         {0xCFC, 3, false}}) {
    vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 0, 0, 0)));
    VpciOutcome o = vpci.Filter(PortRead(c.port, c.size));
    EXPECT_EQ(o.verdict == VpciVerdict::kForward, c.forwarded)
        << std::hex << c.port << " size " << c.size;
    if (!c.forwarded) {
      EXPECT_EQ(o.value, SizeMask(c.size));
    }
  }
}

// Found by fuzz/acrn_vpci: the size was cut to 32 bits, so a request whose
// 64-bit size is 2^32 + 1 passed as a 1-byte access.
TEST(AcrnVpciTest, ASizeIsJudgedWithAllItsBits) {
  AcrnVpci vpci;
  vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 0, 0, 0)));
  IoAccess huge = PortRead(0xCFC, 1);
  huge.size = (uint64_t{1} << 32) + 1;
  const VpciOutcome o = vpci.Filter(huge);
  EXPECT_EQ(o.verdict, VpciVerdict::kHandled);
  EXPECT_EQ(o.value, ~uint64_t{0});
}

TEST(AcrnVpciTest, OwnedDevicesAreServedInTheHypervisor) {
  const uint16_t owned = 0 << 8 | 2 << 3 | 0;  // 00:02.0
  std::vector<uint32_t> regs;
  AcrnVpci vpci({owned}, [&](uint16_t bdf, uint32_t reg, uint32_t size,
                             bool write, uint32_t value) -> uint32_t {
    EXPECT_EQ(bdf, owned);
    regs.push_back(reg);
    return write ? 0 : 0x12345678u;
  });
  // The address write of an owned device does not reach the HSM.
  EXPECT_EQ(vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 2, 0, 0)))
                .verdict,
            VpciVerdict::kHandled);
  VpciOutcome o = vpci.Filter(PortRead(kPciConfigDataPort + 2, 2));
  EXPECT_EQ(o.verdict, VpciVerdict::kHandled);
  EXPECT_EQ(o.value, 0x5678u);
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0], 2u);
  // Any other device's is forwarded, address and data.
  EXPECT_EQ(vpci.Filter(PortWrite(kPciConfigAddressPort, 4, Address(0, 4, 0, 0)))
                .verdict,
            VpciVerdict::kForward);
  EXPECT_EQ(vpci.Filter(PortRead(kPciConfigDataPort, 4)).verdict,
            VpciVerdict::kForward);
}

}  // namespace
}  // namespace ioreq
