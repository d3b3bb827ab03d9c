#include "core/harness/acrn_vpci.h"

#include "core/hsm/cf8cfc.h"

namespace ioreq {

const char* VpciVerdictName(VpciVerdict verdict) {
  switch (verdict) {
    case VpciVerdict::kForward:
      return "forward";
    case VpciVerdict::kHandled:
      return "handled";
  }
  return "unknown";
}

namespace {

// Completed in the hypervisor: a read gets `read_value`, masked to its size.
VpciOutcome Handled(const IoAccess& access, uint64_t read_value) {
  return {VpciVerdict::kHandled, access.direction == kDirRead
                                     ? read_value & SizeMask(access.size)
                                     : 0};
}

}  // namespace

VpciOutcome AcrnVpci::Filter(const IoAccess& access) {
  if (access.type != kTypePortIo) return {};
  const bool read = access.direction == kDirRead;
  if (access.address == kPciConfigAddressPort) {
    if (read) {
      return Handled(access, access.size == 4
                                  ? latch_.load(std::memory_order_relaxed)
                                  : ~uint64_t{0});
    }
    if (access.size != 4) return Handled(access, 0);  // dropped
    const uint32_t address = static_cast<uint32_t>(access.value) & kAddressKeep;
    // Relaxed, as ACRN's plain store: the guest's own config-cycle lock
    // orders a vCPU's address write before its data access.
    latch_.store(address, std::memory_order_relaxed);
    return Owned(address) ? Handled(access, 0) : VpciOutcome{};
  }
  if (access.address < kPciConfigDataPort ||
      access.address > kPciConfigDataPort + 3) {
    return {};
  }
  // atomic_readandclear32(): every data-port access consumes the latch.
  const uint32_t address = latch_.exchange(0, std::memory_order_relaxed);
  const uint32_t offset = static_cast<uint32_t>(access.address - kPciConfigDataPort);
  const uint32_t reg = (address & 0xFC) + offset;
  // All 64 bits of the size: a decoded request may carry any (a size of
  // 2^32 + 1 is not 1).
  const uint64_t size = access.size;
  const bool valid_size = size == 1 || size == 2 || size == 4;
  if ((address & kPciConfigEnable) == 0 || !valid_size ||
      (reg & (size - 1)) != 0) {
    return Handled(access, ~uint64_t{0});
  }
  if (!Owned(address)) return {};
  const uint16_t bdf = static_cast<uint16_t>(address >> 8);
  const uint32_t value =
      access_ ? access_(bdf, reg, static_cast<uint32_t>(size), !read,
                        static_cast<uint32_t>(access.value))
              : ~0u;
  return Handled(access, value);
}

}  // namespace ioreq
