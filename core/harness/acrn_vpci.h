// core/harness/acrn_vpci.h: ACRN's hypervisor-side PCI configuration filter.
//
// Under the `acrn` profile (core/profile/profile.h) the hypervisor's own
// port handlers run before an access reaches the HSM, and ACRN's vPCI
// (hypervisor/dm/vpci/vpci.c) intercepts ports 0xCF8 and 0xCFC..0xCFF of
// every VM [acrn-vpci]:
//   - 0xCF8 read: answered here, the latch for size 4, all-ones otherwise.
//   - 0xCF8 write of size 4: latched (reserved bits 24-30 and 0-1 cleared);
//     forwarded to the HSM unless the hypervisor itself owns the device the
//     address selects. Other sizes: dropped.
//   - 0xCFC..0xCFF: the latch is read and cleared, whatever follows. With the
//     enable bit and a valid access (size 1, 2 or 4, register aligned to
//     it), a device the hypervisor owns is served here, any other is
//     forwarded; without them a read is answered all-ones and a write
//     dropped.
// An access is the vPCI's when its first port is 0xCF8 or 0xCFC..0xCFF
// (ACRN matches a handler on the first port); everything else is forwarded.
// So under `acrn` the HSM sees a data-port access only right after a
// forwarded address write, and never sees a disabled or unaligned one.
//
// Thread-safe: vCPUs of one VM share the latch, which is one atomic word, as
// ACRN's is (its data ports read it with atomic_readandclear32()).
//
// Example:
//   ioreq::AcrnVpci vpci;  // the device model owns every device
//   ioreq::VpciOutcome o = vpci.Filter(ioreq::PortRead(0xCFC, 4));
//   if (o.verdict == ioreq::VpciVerdict::kForward) { /* insert the request */ }
#ifndef IOREQ_CORE_HARNESS_ACRN_VPCI_H_
#define IOREQ_CORE_HARNESS_ACRN_VPCI_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

enum class VpciVerdict {
  kForward,  // not the hypervisor's: insert it for the HSM
  kHandled,  // completed in the hypervisor: a read answered with
             // VpciOutcome::value, a write absorbed (latched or dropped)
};
const char* VpciVerdictName(VpciVerdict verdict);

struct VpciOutcome {
  VpciVerdict verdict = VpciVerdict::kForward;
  uint64_t value = 0;  // a kHandled read's value, masked to its size
};

class AcrnVpci {
 public:
  // A configuration access to a device the hypervisor owns (a passthrough
  // device in ACRN): `bdf` is bus << 8 | dev << 3 | func; returns a read's
  // value (ignored for a write).
  using OwnedDeviceAccess = std::function<uint32_t(
      uint16_t bdf, uint32_t reg, uint32_t size, bool write, uint32_t value)>;

  // No devices of its own: every enabled, valid access is forwarded.
  AcrnVpci() = default;
  AcrnVpci(absl::flat_hash_set<uint16_t> owned_bdfs, OwnedDeviceAccess access)
      : owned_(std::move(owned_bdfs)), access_(std::move(access)) {}
  AcrnVpci(const AcrnVpci&) = delete;
  AcrnVpci& operator=(const AcrnVpci&) = delete;

  // What the hypervisor does with `access` before the HSM.
  VpciOutcome Filter(const IoAccess& access);

  // The latched address (ACRN's vpci->addr), for tests and reports.
  uint32_t latch() const { return latch_.load(std::memory_order_relaxed); }

  // ACRN's address register keeps bus, device, function, register (bits
  // 2-7) and enable; bits 24-30 and 0-1 are reserved and cleared.
  static constexpr uint32_t kAddressKeep = ~0x7F000003u;

 private:
  bool Owned(uint32_t address) const {
    return owned_.contains(static_cast<uint16_t>(address >> 8));
  }

  const absl::flat_hash_set<uint16_t> owned_;
  const OwnedDeviceAccess access_;
  std::atomic<uint32_t> latch_{0};
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_ACRN_VPCI_H_
