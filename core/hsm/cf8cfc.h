// core/hsm/cf8cfc.h: PCI configuration mechanism #1 through ports 0xCF8/0xCFC.
//
// A guest reaches PCI configuration space by writing an address to port
// 0xCF8 and then accessing ports 0xCFC..0xCFF. The kernel folds each such
// pair into one PCICFG request before routing [cf8cfc]:
//   - 0xCF8: a write latches the value as the VM's config address, a read
//     returns it; completed in place.
//   - 0xCFC..0xCFF with the enable bit (0x80000000) clear: a read gives
//     0xFFFFFFFF, a write is dropped; completed in place.
//   - with the enable bit set: the slot is rewritten in place as a PCICFG
//     request with bus, dev, func and reg decoded from the latch, and then
//     routed (to the default client).
//
// Example:
//   uint32_t latch = 0;  // per VM
//   switch (ioreq::HandleCf8Cfc(latch, slot)) {
//     case ioreq::Cf8CfcOutcome::kNotConfigPort: Route(slot); break;
//     case ioreq::Cf8CfcOutcome::kCompletedInPlace: Complete(slot); break;
//     case ioreq::Cf8CfcOutcome::kConvertedToPciCfg: Route(slot); break;
//   }
#ifndef IOREQ_CORE_HSM_CF8CFC_H_
#define IOREQ_CORE_HSM_CF8CFC_H_

#include <cstdint>

#include "core/abi/abi.h"

namespace ioreq {

inline constexpr uint64_t kPciConfigAddressPort = 0xCF8;
inline constexpr uint64_t kPciConfigDataPort = 0xCFC;
inline constexpr uint32_t kPciConfigEnable = 0x80000000u;

enum class Cf8CfcOutcome {
  kNotConfigPort,     // not 0xCF8 nor 0xCFC..0xCFF: route as is
  kCompletedInPlace,  // handled here; the caller completes the request
  kConvertedToPciCfg, // now a PCICFG request; the caller routes it
};

// The PCI location a config address selects, with the register of a data
// port access at `port` (0xCFC..0xCFF) [cf8cfc].
struct PciLocation {
  uint32_t bus;
  uint32_t dev;
  uint32_t func;
  uint32_t reg;
};
PciLocation DecodeConfigAddress(uint32_t config_address, uint64_t port);

// True for a PORTIO request to exactly 0xCF8 (is_cfg_addr()).
bool IsConfigAddressAccess(const IoRequest& req);
// True for a PORTIO request to 0xCFC..0xCFF (is_cfg_data()).
bool IsConfigDataAccess(const IoRequest& req);

// handle_cf8cfc(): applies the rule to a PENDING slot owned by the caller.
// `config_address` is the VM's latched 0xCF8 value, read and written here.
Cf8CfcOutcome HandleCf8Cfc(uint32_t& config_address, IoRequest& req);

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_CF8CFC_H_
