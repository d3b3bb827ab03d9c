#include "core/slot_decode.h"

#include <cstring>

namespace ioreq {
namespace {

constexpr uint64_t kPortSpaceSize = 0x10000;
constexpr uint64_t kPciConfigSpaceSize = 4096;

bool IsPioSize(uint64_t size) { return size == 1 || size == 2 || size == 4; }
bool IsMmioSize(uint64_t size) { return IsPioSize(size) || size == 8; }

}  // namespace

const char* SlotCheckName(SlotCheck check) {
  switch (check) {
    case SlotCheck::kValid:
      return "valid";
    case SlotCheck::kUnknownType:
      return "unknown type";
    case SlotCheck::kBadDirection:
      return "bad direction";
    case SlotCheck::kBadSize:
      return "bad size";
    case SlotCheck::kAddressWraps:
      return "address wraps";
    case SlotCheck::kBadPciAddress:
      return "bad pci address";
    case SlotCheck::kReservedNonZero:
      return "reserved field non-zero";
    case SlotCheck::kUnknownState:
      return "unknown state";
  }
  return "?";
}

SlotCheck CheckState(uint32_t state) {
  return state <= kStateFree ? SlotCheck::kValid : SlotCheck::kUnknownState;
}

SlotCheck CheckRequest(const IoRequest& slot) {
  switch (slot.type) {
    case kTypePortIo: {
      const PioRequest& pio = slot.reqs.pio_request;
      if (pio.direction > kDirWrite) return SlotCheck::kBadDirection;
      if (!IsPioSize(pio.size)) return SlotCheck::kBadSize;
      if (pio.address >= kPortSpaceSize ||
          pio.address + pio.size > kPortSpaceSize) {
        return SlotCheck::kAddressWraps;
      }
      if (pio.reserved != 0) return SlotCheck::kReservedNonZero;
      return SlotCheck::kValid;
    }
    case kTypeMmio: {
      const MmioRequest& mmio = slot.reqs.mmio_request;
      if (mmio.direction > kDirWrite) return SlotCheck::kBadDirection;
      if (!IsMmioSize(mmio.size)) return SlotCheck::kBadSize;
      if (mmio.address + (mmio.size - 1) < mmio.address) {
        return SlotCheck::kAddressWraps;
      }
      if (mmio.reserved != 0) return SlotCheck::kReservedNonZero;
      return SlotCheck::kValid;
    }
    case kTypePciCfg: {
      // reserved[] overlaps pio_request.address, which an in-place 0xCFC
      // conversion leaves behind, so it is not checked here.
      const PciRequest& pci = slot.reqs.pci_request;
      if (pci.direction > kDirWrite) return SlotCheck::kBadDirection;
      if (!IsPioSize(pci.size)) return SlotCheck::kBadSize;
      if (pci.bus > 0xFF || pci.dev > 0x1F || pci.func > 0x7 ||
          pci.reg >= kPciConfigSpaceSize ||
          pci.reg + pci.size > kPciConfigSpaceSize) {
        return SlotCheck::kBadPciAddress;
      }
      return SlotCheck::kValid;
    }
    default:
      return SlotCheck::kUnknownType;
  }
}

SlotCheck CheckSlot(const IoRequest& slot) {
  SlotCheck state = CheckState(slot.processed);
  if (state != SlotCheck::kValid) return state;
  return CheckRequest(slot);
}

IoAccess DecodeAccess(const IoRequest& slot) {
  IoAccess access;
  access.type = slot.type;
  switch (slot.type) {
    case kTypeMmio:
      access.direction = slot.reqs.mmio_request.direction;
      access.address = slot.reqs.mmio_request.address;
      access.size = slot.reqs.mmio_request.size;
      access.value = slot.reqs.mmio_request.value;
      break;
    case kTypePciCfg:
      access.direction = slot.reqs.pci_request.direction;
      access.address = slot.reqs.pci_request.reg;
      access.size = slot.reqs.pci_request.size;
      access.value = slot.reqs.pci_request.value;
      access.bus = slot.reqs.pci_request.bus;
      access.dev = slot.reqs.pci_request.dev;
      access.func = slot.reqs.pci_request.func;
      break;
    default:  // PORTIO, and the layout any unknown type is read with
      access.direction = slot.reqs.pio_request.direction;
      access.address = slot.reqs.pio_request.address;
      access.size = slot.reqs.pio_request.size;
      access.value = slot.reqs.pio_request.value;
      break;
  }
  return access;
}

void EncodeAccess(const IoAccess& access, IoRequest& slot) {
  slot.type = access.type;
  std::memset(&slot.reqs, 0, sizeof(slot.reqs));
  switch (access.type) {
    case kTypeMmio:
      slot.reqs.mmio_request.direction = access.direction;
      slot.reqs.mmio_request.address = access.address;
      slot.reqs.mmio_request.size = access.size;
      slot.reqs.mmio_request.value = access.value;
      break;
    case kTypePciCfg:
      slot.reqs.pci_request.direction = access.direction;
      slot.reqs.pci_request.size = access.size;
      slot.reqs.pci_request.value = static_cast<uint32_t>(access.value);
      slot.reqs.pci_request.bus = access.bus;
      slot.reqs.pci_request.dev = access.dev;
      slot.reqs.pci_request.func = access.func;
      slot.reqs.pci_request.reg = static_cast<uint32_t>(access.address);
      break;
    default:
      slot.reqs.pio_request.direction = access.direction;
      slot.reqs.pio_request.address = access.address;
      slot.reqs.pio_request.size = access.size;
      slot.reqs.pio_request.value = static_cast<uint32_t>(access.value);
      break;
  }
}

uint64_t RequestValue(const IoRequest& slot) {
  if (slot.type == kTypeMmio) return slot.reqs.mmio_request.value;
  return slot.reqs.pio_request.value;  // pci_request.value: same offset
}

void SetRequestValue(IoRequest& slot, uint64_t value) {
  if (slot.type == kTypeMmio) {
    slot.reqs.mmio_request.value = value;
  } else {
    slot.reqs.pio_request.value = static_cast<uint32_t>(value);
  }
}

}  // namespace ioreq
