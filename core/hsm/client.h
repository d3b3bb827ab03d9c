// core/hsm/client.h: what an I/O request client is to the code that makes
// one: an id, a name of at most 15 characters, and the handler that emulates
// its requests [clients].
//
// Example:
//   ioreq::IoHandler uart = [&](ioreq::IoAccess& access) {
//     return device.Handle(access);
//   };
//   ioreq::ClientId id = *hsm.CreateClient(vm, "uart", uart, false);
#ifndef IOREQ_CORE_HSM_CLIENT_H_
#define IOREQ_CORE_HSM_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

// A client's emulation of one request, as a device sees it: the decoded
// access (type, address, size, direction, and for PCICFG bus, device and
// function, with the register in `address`), never the slot. A write's data
// is in `access.value`; a read stores its result there. The HSM decodes the
// access once, from a copy of the slot it has checked, and writes back only
// the value. A non-OK status is a handler error.
using IoHandler = std::function<absl::Status(IoAccess& access)>;

// Identifies a client within one Hsm; a larger id is a newer client.
using ClientId = uint64_t;

inline constexpr size_t kClientNameMax = 15;

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_CLIENT_H_
