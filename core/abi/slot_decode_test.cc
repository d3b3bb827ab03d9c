// Slot validation: every input is valid or gets a named error.
#include "core/abi/slot_decode.h"

#include <cstring>

#include "core/abi/slot_decode.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace {

IoRequest Encoded(const IoAccess& access, uint32_t state = kStatePending) {
  IoRequest req;
  std::memset(static_cast<void*>(&req), 0, sizeof(req));
  EncodeAccess(access, req);
  req.processed = state;
  return req;
}

TEST(SlotDecode, ValidAccessesRoundTrip) {
  for (const IoAccess& a :
       {PortRead(0x3F8, 1), PortWrite(0xCFC, 4, 0xDEADBEEF),
        MmioWrite(0xF0000000, 8, 0x0123456789ABCDEF), MmioRead(0x1000, 2)}) {
    IoRequest req = Encoded(a);
    EXPECT_EQ(CheckSlot(req), SlotCheck::kValid);
    IoAccess back = DecodeAccess(req);
    EXPECT_EQ(back.type, a.type);
    EXPECT_EQ(back.direction, a.direction);
    EXPECT_EQ(back.address, a.address);
    EXPECT_EQ(back.size, a.size);
    EXPECT_EQ(back.value, a.value);
  }
}

TEST(SlotDecode, UnknownType) {
  IoRequest req = Encoded(PortRead(0x60, 1));
  req.type = 7;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kUnknownType);
  EXPECT_STREQ(SlotCheckName(CheckRequest(req)), "unknown type");
}

TEST(SlotDecode, BadSize) {
  IoRequest pio = Encoded(PortRead(0x60, 1));
  for (uint64_t size : {0ull, 3ull, 8ull, 16ull, ~0ull}) {
    pio.reqs.pio_request.size = size;
    EXPECT_EQ(CheckRequest(pio), SlotCheck::kBadSize) << size;
  }
  IoRequest mmio = Encoded(MmioRead(0x1000, 8));
  EXPECT_EQ(CheckRequest(mmio), SlotCheck::kValid);
  mmio.reqs.mmio_request.size = 5;
  EXPECT_EQ(CheckRequest(mmio), SlotCheck::kBadSize);
}

TEST(SlotDecode, AddressWraps) {
  IoRequest mmio = Encoded(MmioRead(~0ull - 2, 4));
  EXPECT_EQ(CheckRequest(mmio), SlotCheck::kAddressWraps);
  IoRequest ok = Encoded(MmioRead(~0ull - 3, 4));
  EXPECT_EQ(CheckRequest(ok), SlotCheck::kValid);
  IoRequest pio = Encoded(PortRead(0xFFFF, 2));
  EXPECT_EQ(CheckRequest(pio), SlotCheck::kAddressWraps);
  pio.reqs.pio_request.address = 0x10000;
  pio.reqs.pio_request.size = 1;
  EXPECT_EQ(CheckRequest(pio), SlotCheck::kAddressWraps);
}

TEST(SlotDecode, BadDirection) {
  IoRequest req = Encoded(MmioRead(0x1000, 4));
  req.reqs.mmio_request.direction = 2;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadDirection);
}

TEST(SlotDecode, ReservedNonZero) {
  IoRequest req = Encoded(PortRead(0x60, 1));
  req.reqs.pio_request.reserved = 1;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kReservedNonZero);
  IoRequest mmio = Encoded(MmioWrite(0x1000, 4, 5));
  mmio.reqs.mmio_request.reserved = 1;
  EXPECT_EQ(CheckRequest(mmio), SlotCheck::kReservedNonZero);
}

TEST(SlotDecode, BadPciAddress) {
  IoAccess a;
  a.type = kTypePciCfg;
  a.size = 4;
  a.address = 0xFFC;
  IoRequest req = Encoded(a);
  EXPECT_EQ(CheckRequest(req), SlotCheck::kValid);
  req.reqs.pci_request.reg = 0xFFE;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadPciAddress);
  req.reqs.pci_request.reg = 0xFFD;  // one byte past the end
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadPciAddress);
  req.reqs.pci_request.reg = 0;
  req.reqs.pci_request.dev = 32;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadPciAddress);
  req.reqs.pci_request.dev = 31;
  req.reqs.pci_request.func = 8;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadPciAddress);
  req.reqs.pci_request.func = 7;
  req.reqs.pci_request.bus = 0x100;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kBadPciAddress);
  req.reqs.pci_request.bus = 0xFF;
  EXPECT_EQ(CheckRequest(req), SlotCheck::kValid);
}

TEST(SlotDecode, UnknownState) {
  IoRequest req = Encoded(PortRead(0x60, 1), /*state=*/4);
  EXPECT_EQ(CheckSlot(req), SlotCheck::kUnknownState);
  req.processed = kStateFree;
  EXPECT_EQ(CheckSlot(req), SlotCheck::kValid);
}

TEST(SlotDecode, EveryCheckHasADistinctName) {
  for (int i = 0; i < kSlotCheckCount; ++i) {
    for (int j = i + 1; j < kSlotCheckCount; ++j) {
      EXPECT_STRNE(SlotCheckName(static_cast<SlotCheck>(i)),
                   SlotCheckName(static_cast<SlotCheck>(j)));
    }
  }
}

TEST(SlotDecode, SizeMask) {
  EXPECT_EQ(SizeMask(1), 0xFFull);
  EXPECT_EQ(SizeMask(2), 0xFFFFull);
  EXPECT_EQ(SizeMask(4), 0xFFFFFFFFull);
  EXPECT_EQ(SizeMask(8), ~0ull);
}

}  // namespace
}  // namespace ioreq
