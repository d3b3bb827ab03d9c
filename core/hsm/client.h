// core/hsm/client.h: what an I/O request client is to the code that makes
// one: an id, a name of at most 15 characters, and the handler that emulates
// its requests [clients].
//
// Example:
//   ioreq::IoHandler uart = [&](ioreq::IoRequest& req) {
//     return device.Handle(req);
//   };
//   ioreq::ClientId id = *hsm.CreateClient(vm, "uart", uart, false);
#ifndef IOREQ_CORE_HSM_CLIENT_H_
#define IOREQ_CORE_HSM_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "core/abi/abi.h"

namespace ioreq {

// A client's emulation of one request: reads the request from `req`, writes
// a read's value into it. `req` is the HSM's checked copy, never the shared
// slot. A non-OK status is a handler error.
using IoHandler = std::function<absl::Status(IoRequest& req)>;

// Identifies a client within one Hsm; a larger id is a newer client.
using ClientId = uint64_t;

inline constexpr size_t kClientNameMax = 15;

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_CLIENT_H_
