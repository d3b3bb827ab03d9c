// guests/guest_image.h: the guest programs, as one flat image.
//
// Built from guests/entry.S and guests/guest.c when the project builds;
// load it at GUEST_IMAGE_BASE and start each vCPU there with its index in
// EBX (guests/guest_abi.h). Which program runs is chosen by the host in
// struct guest_params.
//
// Example:
//   vm->Load(GUEST_IMAGE_BASE, ioreq::guests::GuestImage());
#ifndef IOREQ_GUESTS_GUEST_IMAGE_H_
#define IOREQ_GUESTS_GUEST_IMAGE_H_

#include <cstdint>

#include "absl/types/span.h"

namespace ioreq {
namespace guests {

absl::Span<const uint8_t> GuestImage();

}  // namespace guests
}  // namespace ioreq

#endif  // IOREQ_GUESTS_GUEST_IMAGE_H_
