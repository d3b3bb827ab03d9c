// Slot validation: every input is valid or gets a named error.
#include "core/abi/slot_decode.h"

#include <cstddef>
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

// The last port is a port: an access that ends at 0xFFFF is valid.
TEST(SlotDecode, APortAccessEndingAtTheLastPortIsValid) {
  EXPECT_EQ(CheckRequest(Encoded(PortRead(0xFFFF, 1))), SlotCheck::kValid);
  EXPECT_EQ(CheckRequest(Encoded(PortRead(0xFFFE, 2))), SlotCheck::kValid);
  EXPECT_EQ(CheckRequest(Encoded(PortWrite(0xFFFC, 4, 1))), SlotCheck::kValid);
  EXPECT_EQ(CheckRequest(Encoded(PortRead(0xFFFD, 4))),
            SlotCheck::kAddressWraps);
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

// A slot whose every byte was 0xA5 before: what EncodeAccess() does not
// write keeps the pattern, so the tests see each field it writes.
IoRequest Dirty() {
  IoRequest req;
  std::memset(static_cast<void*>(&req), 0xA5, sizeof(req));
  return req;
}

IoAccess PciWrite(uint32_t bus, uint32_t dev, uint32_t func, uint64_t reg,
                  uint64_t size, uint64_t value) {
  IoAccess a;
  a.type = kTypePciCfg;
  a.direction = kDirWrite;
  a.bus = bus;
  a.dev = dev;
  a.func = func;
  a.address = reg;
  a.size = size;
  a.value = value;
  return a;
}

// A request is written whole: every reserved word and every byte of the
// union past the type's layout reads 0, whatever the slot held before.
TEST(SlotDecode, EncodingZeroesEveryWordTheLayoutLeavesUnused) {
  IoRequest pio = Dirty();
  EncodeAccess(PortWrite(0x3F8, 1, 0x41), pio);
  EXPECT_EQ(pio.type, kTypePortIo);
  EXPECT_EQ(pio.reqs.pio_request.direction, kDirWrite);
  EXPECT_EQ(pio.reqs.pio_request.reserved, 0u);
  EXPECT_EQ(pio.reqs.pio_request.address, 0x3F8u);
  EXPECT_EQ(pio.reqs.pio_request.size, 1u);
  EXPECT_EQ(pio.reqs.pio_request.value, 0x41u);
  EXPECT_EQ(CheckRequest(pio), SlotCheck::kValid);

  IoRequest pci = Dirty();
  EncodeAccess(PciWrite(1, 2, 3, 0x40, 4, 0x12345678), pci);
  EXPECT_EQ(pci.reqs.pci_request.reserved[0], 0u);
  EXPECT_EQ(pci.reqs.pci_request.reserved[1], 0u);
  EXPECT_EQ(pci.reqs.pci_request.reserved[2], 0u);
  EXPECT_EQ(pci.reqs.pci_request.size, 4u);
  EXPECT_EQ(pci.reqs.pci_request.value, 0x12345678u);
  EXPECT_EQ(pci.reqs.pci_request.bus, 1u);
  EXPECT_EQ(pci.reqs.pci_request.dev, 2u);
  EXPECT_EQ(pci.reqs.pci_request.func, 3u);
  EXPECT_EQ(pci.reqs.pci_request.reg, 0x40u);
  EXPECT_EQ(CheckRequest(pci), SlotCheck::kValid);

  for (const IoAccess& a : {PortRead(0x60, 1), MmioWrite(0x1000, 8, ~0ull),
                            PciWrite(0, 0, 0, 0, 4, 1)}) {
    IoRequest req = Dirty();
    EncodeAccess(a, req);
    // Past offset 32 only pci_request's dev, func and reg (all 0 here).
    for (int i = 4; i < 8; ++i) EXPECT_EQ(req.reqs.data[i], 0u) << a.type << i;
    // Nothing outside the type and the union: kernel_handled is the HSM's.
    EXPECT_EQ(req.completion_polling, 0xA5A5A5A5u);
    EXPECT_EQ(req.reserved1, 0xA5A5A5A5u);
    EXPECT_EQ(req.kernel_handled, 0xA5A5A5A5u);
    EXPECT_EQ(req.processed, 0xA5A5A5A5u);
    // Offset 28: MMIO's value's high half, PCI's bus (0), port padding.
    EXPECT_EQ(req.reqs.data[3] >> 32, a.type == kTypeMmio ? ~0ull >> 32 : 0u)
        << a.type;
  }
}

// The routing snapshot copies what routing reads (type, direction, the
// address and the size of every layout) and nothing else.
TEST(SlotDecode, TheRouteSnapshotCopiesTheRoutingFieldsOnly) {
  for (const IoAccess& a : {PortWrite(0x3F8, 2, 0x4142),
                            MmioWrite(0xFEE00000, 8, 0x0123456789ABCDEF),
                            PciWrite(7, 31, 7, 0xFC, 4, 0xCAFEF00D)}) {
    IoRequest slot = Dirty();
    EncodeAccess(a, slot);
    // A hypervisor's non-zero reserved word is copied, so the check of the
    // snapshot sees it.
    slot.reqs.pio_request.reserved = 7;
    const IoRequest copy = RouteSnapshot(slot);
    EXPECT_EQ(copy.type, slot.type);
    EXPECT_EQ(std::memcmp(&copy.reqs, &slot.reqs, 24), 0) << a.type;
    if (a.type != kTypePciCfg) {
      EXPECT_EQ(CheckRequest(copy), SlotCheck::kReservedNonZero);
    }
    for (int i = 3; i < 8; ++i) EXPECT_EQ(copy.reqs.data[i], 0u) << i;
    EXPECT_EQ(copy.processed, 0u);
    EXPECT_EQ(copy.kernel_handled, 0u);
    EXPECT_EQ(copy.completion_polling, 0u);
    const IoAccess routed = DecodeAccess(copy);
    EXPECT_EQ(routed.type, a.type);
    EXPECT_EQ(routed.direction, a.direction);
    EXPECT_EQ(routed.size, a.size);
    if (a.type != kTypePciCfg) {
      EXPECT_EQ(routed.address, a.address);
    }
  }
}

// A cleared slot's fields are all zero but its state, which is not the
// clearer's (the padding after the state is no field).
TEST(SlotDecode, ClearingZeroesEverythingButTheState) {
  IoRequest slot = Dirty();
  slot.processed = kStateFree;
  ClearSlotRelaxed(slot);
  EXPECT_EQ(slot.processed, kStateFree);
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&slot);
  for (size_t i = 0; i < offsetof(IoRequest, processed); ++i) {
    EXPECT_EQ(bytes[i], 0) << i;
  }
}

// A read's value is where its type's layout puts it: 64 bits for MMIO, the
// low 32 for port and PCI (whose value shares the offset).
TEST(SlotDecode, TheValueIsReadAndWrittenInTheTypesLayout) {
  IoRequest mmio = Encoded(MmioRead(0x1000, 8));
  SetRequestValue(mmio, 0x0123456789ABCDEF);
  EXPECT_EQ(mmio.reqs.mmio_request.value, 0x0123456789ABCDEFu);
  EXPECT_EQ(RequestValue(mmio), 0x0123456789ABCDEFu);

  IoRequest pio = Encoded(PortRead(0x60, 4));
  SetRequestValue(pio, 0x0123456789ABCDEF);
  EXPECT_EQ(pio.reqs.pio_request.value, 0x89ABCDEFu);
  EXPECT_EQ(pio.reqs.data[3] >> 32, 0u);  // the next field is not touched
  EXPECT_EQ(RequestValue(pio), 0x89ABCDEFu);

  // PCI's bus sits where MMIO's value has its high half: it is no part of
  // the value, and writing the value leaves it.
  IoRequest pci = Encoded(PciWrite(3, 1, 0, 0, 4, 0));
  SetRequestValue(pci, 0xFFFFFFFF5A5A5A5A);
  EXPECT_EQ(pci.reqs.pci_request.value, 0x5A5A5A5Au);
  EXPECT_EQ(pci.reqs.pci_request.bus, 3u);
  EXPECT_EQ(RequestValue(pci), 0x5A5A5A5Au);
}

TEST(SlotDecode, SizeMask) {
  EXPECT_EQ(SizeMask(1), 0xFFull);
  EXPECT_EQ(SizeMask(2), 0xFFFFull);
  EXPECT_EQ(SizeMask(4), 0xFFFFFFFFull);
  EXPECT_EQ(SizeMask(8), ~0ull);
}

}  // namespace
}  // namespace ioreq
