// core/abi/slot_decode.h: classify the bytes of a slot as a request or an error.
//
// The hypervisor may be buggy or hostile: any 256 bytes can sit in a slot.
// Before the HSM routes a PENDING request it validates it here. A request
// that fails is never emulated: the router answers it at once with an
// all-ones read value and counts it as rejected (docs/fidelity.md, "Invalid
// requests are answered, not routed"), so the vCPU that issued it is still
// answered exactly once.
//
// The model requires:
//   type        PORTIO, MMIO or PCICFG                  else kUnknownType
//   direction   READ or WRITE                           else kBadDirection
//   size        PORTIO/PCICFG: 1, 2 or 4; MMIO: 1/2/4/8 else kBadSize
//   address     PORTIO: addr + size <= 0x10000;
//               MMIO:   addr + size - 1 does not wrap    else kAddressWraps
//   PCICFG      bus <= 255, dev <= 31, func <= 7,
//               reg + size <= 4096                       else kBadPciAddress
//   reserved    pio_request.reserved and
//               mmio_request.reserved are zero           else kReservedNonZero
// and, for the state word, one of the four states        else kUnknownState.
//
// Example:
//   ioreq::SlotCheck check = ioreq::CheckRequest(slot);
//   if (check != ioreq::SlotCheck::kValid) Reject(slot, SlotCheckName(check));
#ifndef IOREQ_CORE_ABI_SLOT_DECODE_H_
#define IOREQ_CORE_ABI_SLOT_DECODE_H_

#include <cstdint>

#include "core/abi/abi.h"

namespace ioreq {

enum class SlotCheck : uint8_t {
  kValid = 0,
  kUnknownType,
  kBadDirection,
  kBadSize,
  kAddressWraps,
  kBadPciAddress,
  kReservedNonZero,
  kUnknownState,
};
inline constexpr int kSlotCheckCount = 8;

// "valid", "unknown type", ... : a stable name for reports and tests.
const char* SlotCheckName(SlotCheck check);

// A request's fields, independent of the union member that carries them.
struct IoAccess {
  uint32_t type = kTypePortIo;
  uint32_t direction = kDirRead;
  uint64_t address = 0;  // port, MMIO address, or PCI register (PCICFG)
  uint64_t size = 1;
  uint64_t value = 0;
  // PCICFG only.
  uint32_t bus = 0;
  uint32_t dev = 0;
  uint32_t func = 0;
};

// The accesses a vCPU traps, built with the value masked to the size.
IoAccess PortRead(uint64_t port, uint64_t size);
IoAccess PortWrite(uint64_t port, uint64_t size, uint64_t value);
IoAccess MmioRead(uint64_t address, uint64_t size);
IoAccess MmioWrite(uint64_t address, uint64_t size, uint64_t value);

// Validates the request fields (not the state word) of `slot`.
SlotCheck CheckRequest(const IoRequest& slot);

// Validates the state word value.
SlotCheck CheckState(uint32_t state);

// CheckState() of the state word, then CheckRequest(): the full verdict on
// 256 arbitrary bytes.
SlotCheck CheckSlot(const IoRequest& slot);

// Reads the request fields of a slot. Meaningful when CheckRequest() is
// kValid; never reads outside the slot whatever its contents.
IoAccess DecodeAccess(const IoRequest& slot);

// Writes `access` into the slot's type and union (not the state word), the
// way the hypervisor fills a slot before it marks it PENDING. The fields a
// routing snapshot reads are stored as relaxed atomics of their own width.
void EncodeAccess(const IoAccess& access, IoRequest& slot);

// A copy of what routing needs (type, and the pio/mmio direction, reserved,
// address and size), read with relaxed atomic loads: for scanners that look
// at a PENDING slot they do not own yet (the direct topology). Only a
// compare-exchange of the state makes the slot theirs; its real fields are
// read after that.
IoRequest RouteSnapshot(const IoRequest& slot);

// Zeroes a slot's request fields (not the state word) with the same widths
// as EncodeAccess(), for a VM reset.
void ClearSlotRelaxed(IoRequest& slot);

// Rewrites the type (the 0xCFC -> PCICFG conversion) as a relaxed atomic.
void SetRequestTypeRelaxed(IoRequest& slot, uint32_t type);

// All-ones in the low `size` bytes (size 1..8); what a read of nothing gives.
inline uint64_t SizeMask(uint64_t size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
}

// The request's value field (pio/pci: 32 bits; mmio: 64 bits).
uint64_t RequestValue(const IoRequest& slot);
void SetRequestValue(IoRequest& slot, uint64_t value);

}  // namespace ioreq

#endif  // IOREQ_CORE_ABI_SLOT_DECODE_H_
