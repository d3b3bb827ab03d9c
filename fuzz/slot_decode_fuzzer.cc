// slot_decode: any 256 bytes as a slot. Decoding and validation never crash
// and classify every input: valid, or one named error. The oracle is an
// independent restatement of the rules of core/abi/slot_decode.h.
#include <cstring>
#include <initializer_list>

#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

// The rules, written again another way (128-bit arithmetic, sets).
SlotCheck Reference(const IoRequest& s) {
  if (s.processed > 3) return SlotCheck::kUnknownState;
  auto in = [](uint64_t v, std::initializer_list<uint64_t> set) {
    for (uint64_t x : set) if (v == x) return true;
    return false;
  };
  if (s.type == kTypePortIo || s.type == kTypeMmio) {
    const uint32_t dir = s.reqs.mmio_request.direction;  // same offset
    const uint64_t addr = s.reqs.mmio_request.address;
    const uint64_t size = s.reqs.mmio_request.size;
    if (dir != 0 && dir != 1) return SlotCheck::kBadDirection;
    if (s.type == kTypePortIo ? !in(size, {1, 2, 4}) : !in(size, {1, 2, 4, 8})) {
      return SlotCheck::kBadSize;
    }
    const unsigned __int128 end = static_cast<unsigned __int128>(addr) + size;
    const unsigned __int128 limit = s.type == kTypePortIo
                                        ? 0x10000
                                        : (static_cast<unsigned __int128>(1) << 64);
    if (end > limit) return SlotCheck::kAddressWraps;
    if (s.reqs.mmio_request.reserved != 0) return SlotCheck::kReservedNonZero;
    return SlotCheck::kValid;
  }
  if (s.type == kTypePciCfg) {
    const PciRequest& p = s.reqs.pci_request;
    if (p.direction != 0 && p.direction != 1) return SlotCheck::kBadDirection;
    if (!in(p.size, {1, 2, 4})) return SlotCheck::kBadSize;
    if (p.bus >= 256 || p.dev >= 32 || p.func >= 8 ||
        static_cast<uint64_t>(p.reg) + p.size > 4096) {
      return SlotCheck::kBadPciAddress;
    }
    return SlotCheck::kValid;
  }
  return SlotCheck::kUnknownType;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  IoRequest slot;
  std::memset(static_cast<void*>(&slot), 0, sizeof(slot));
  std::memcpy(static_cast<void*>(&slot), data, size < sizeof(slot) ? size : sizeof(slot));

  const SlotCheck check = CheckSlot(slot);
  const SlotCheck expected = Reference(slot);
  FUZZ_CHECK(check == expected, "CheckSlot says '%s', the rules say '%s'",
             SlotCheckName(check), SlotCheckName(expected));
  FUZZ_CHECK(std::strcmp(SlotCheckName(check), "?") != 0, "unnamed verdict");

  const IoAccess access = DecodeAccess(slot);  // must not crash, whatever
  if (check == SlotCheck::kValid) {
    // A valid request survives re-encoding unchanged.
    IoRequest again;
    std::memset(static_cast<void*>(&again), 0, sizeof(again));
    EncodeAccess(access, again);
    again.processed = slot.processed;
    const IoAccess back = DecodeAccess(again);
    FUZZ_CHECK(back.type == access.type && back.direction == access.direction &&
                   back.address == access.address && back.size == access.size &&
                   back.value == access.value && back.bus == access.bus &&
                   back.dev == access.dev && back.func == access.func,
               "re-encoding changed the request");
    FUZZ_CHECK(CheckSlot(again) == SlotCheck::kValid, "re-encoded is invalid");
  }
  return 0;
}
