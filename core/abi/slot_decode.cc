#include "core/abi/slot_decode.h"

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

namespace {

template <typename T>
void StoreRelaxed(T& field, T value) {
  __atomic_store_n(&field, value, __ATOMIC_RELAXED);
}
template <typename T>
T LoadRelaxed(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_RELAXED);
}

}  // namespace

// Every field the routing snapshot reads is stored with its own width, as a
// relaxed atomic: in the direct topology a scanner that saw the previous
// request PENDING may still be reading these fields (RouteSnapshot()), and
// the two must not race. Offsets 0 (u32), 4 (u32), 8 (u64) and 16 (u64) of
// the union are always written with those widths, whatever the type.
void EncodeAccess(const IoAccess& access, IoRequest& slot) {
  uint32_t* words = reinterpret_cast<uint32_t*>(&slot.reqs);
  StoreRelaxed(slot.type, access.type);
  StoreRelaxed(words[0], access.direction);  // direction, every layout
  StoreRelaxed(words[1], 0u);                // reserved / reserved[0]
  StoreRelaxed(slot.reqs.data[1], access.type == kTypePciCfg
                                      ? uint64_t{0}          // reserved[1..2]
                                      : access.address);     // address
  StoreRelaxed(slot.reqs.data[2], access.size);  // size, every layout
  for (int i = 3; i < 8; ++i) StoreRelaxed(slot.reqs.data[i], uint64_t{0});
  switch (access.type) {
    case kTypeMmio:
      slot.reqs.mmio_request.value = access.value;
      break;
    case kTypePciCfg:
      slot.reqs.pci_request.value = static_cast<uint32_t>(access.value);
      slot.reqs.pci_request.bus = access.bus;
      slot.reqs.pci_request.dev = access.dev;
      slot.reqs.pci_request.func = access.func;
      slot.reqs.pci_request.reg = static_cast<uint32_t>(access.address);
      break;
    default:
      slot.reqs.pio_request.value = static_cast<uint32_t>(access.value);
      break;
  }
}

IoRequest RouteSnapshot(const IoRequest& slot) {
  IoRequest copy;
  std::memset(static_cast<void*>(&copy), 0, sizeof(copy));
  const uint32_t* words = reinterpret_cast<const uint32_t*>(&slot.reqs);
  uint32_t* copy_words = reinterpret_cast<uint32_t*>(&copy.reqs);
  copy.type = LoadRelaxed(slot.type);
  copy_words[0] = LoadRelaxed(words[0]);
  copy_words[1] = LoadRelaxed(words[1]);
  copy.reqs.data[1] = LoadRelaxed(slot.reqs.data[1]);
  copy.reqs.data[2] = LoadRelaxed(slot.reqs.data[2]);
  return copy;
}

void ClearSlotRelaxed(IoRequest& slot) {
  StoreRelaxed(slot.type, 0u);
  slot.completion_polling = 0;
  std::memset(slot.reserved0, 0, sizeof(slot.reserved0));
  IoAccess none;
  none.size = 0;
  EncodeAccess(none, slot);
  StoreRelaxed(slot.type, 0u);
  slot.reserved1 = 0;
  // Atomic: a device model may be scanning (core/abi/slot_state.h).
  __atomic_store_n(&slot.kernel_handled, 0u, __ATOMIC_RELAXED);
}

void SetRequestTypeRelaxed(IoRequest& slot, uint32_t type) {
  StoreRelaxed(slot.type, type);
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

IoAccess PortRead(uint64_t port, uint64_t size) {
  IoAccess a;
  a.type = kTypePortIo;
  a.direction = kDirRead;
  a.address = port;
  a.size = size;
  return a;
}

IoAccess PortWrite(uint64_t port, uint64_t size, uint64_t value) {
  IoAccess a = PortRead(port, size);
  a.direction = kDirWrite;
  a.value = value & SizeMask(size);
  return a;
}

IoAccess MmioRead(uint64_t address, uint64_t size) {
  IoAccess a;
  a.type = kTypeMmio;
  a.direction = kDirRead;
  a.address = address;
  a.size = size;
  return a;
}

IoAccess MmioWrite(uint64_t address, uint64_t size, uint64_t value) {
  IoAccess a = MmioRead(address, size);
  a.direction = kDirWrite;
  a.value = value & SizeMask(size);
  return a;
}

}  // namespace ioreq
