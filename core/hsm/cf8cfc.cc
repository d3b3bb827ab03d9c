#include "core/hsm/cf8cfc.h"

#include "core/abi/slot_decode.h"

namespace ioreq {

PciLocation DecodeConfigAddress(uint32_t a, uint64_t port) {
  PciLocation loc;
  loc.bus = (a >> 16) & 0xFF;
  loc.dev = (a >> 11) & 0x1F;
  loc.func = (a >> 8) & 0x7;
  loc.reg = (a & 0xFC) + ((a >> 16) & 0xF00) +
            static_cast<uint32_t>(port - kPciConfigDataPort);
  return loc;
}

bool IsConfigAddressAccess(const IoRequest& req) {
  return req.type == kTypePortIo &&
         req.reqs.pio_request.address == kPciConfigAddressPort;
}

bool IsConfigDataAccess(const IoRequest& req) {
  return req.type == kTypePortIo &&
         req.reqs.pio_request.address >= kPciConfigDataPort &&
         req.reqs.pio_request.address < kPciConfigDataPort + 4;
}

Cf8CfcOutcome HandleCf8Cfc(uint32_t& config_address, IoRequest& req) {
  PioRequest& pio = req.reqs.pio_request;
  if (IsConfigAddressAccess(req)) {
    // The kernel WARNs when size != 4 but latches the value all the same;
    // the model keeps that behaviour.
    if (pio.direction == kDirWrite) {
      config_address = pio.value;
    } else {
      pio.value = config_address;
    }
    return Cf8CfcOutcome::kCompletedInPlace;
  }
  if (!IsConfigDataAccess(req)) return Cf8CfcOutcome::kNotConfigPort;

  if ((config_address & kPciConfigEnable) == 0) {
    if (pio.direction == kDirRead) pio.value = 0xFFFFFFFFu;
    return Cf8CfcOutcome::kCompletedInPlace;
  }
  // Rewrite in place. direction, size and value share their offsets between
  // pio_request and pci_request, so they stay as they are.
  PciLocation loc = DecodeConfigAddress(config_address, pio.address);
  // Relaxed atomic: a scanner of the direct topology may read the type of a
  // slot it lost the race for (RouteSnapshot()).
  SetRequestTypeRelaxed(req, kTypePciCfg);
  PciRequest& pci = req.reqs.pci_request;
  pci.bus = loc.bus;
  pci.dev = loc.dev;
  pci.func = loc.func;
  pci.reg = loc.reg;
  return Cf8CfcOutcome::kConvertedToPciCfg;
}

}  // namespace ioreq
