// core/abi/abi.cc: compile-time proof that core/abi/abi.h matches <linux/acrn.h>.
//
// Every check is a static_assert: if Debian's UAPI header and the model's
// structures ever disagree on a size, an alignment or an offset, the build
// stops here.
#include "core/abi/abi.h"

#include <linux/acrn.h>

#include <cstddef>

namespace ioreq {
namespace {

#define IOREQ_SAME_OFFSET(ours, kernel, field) \
  static_assert(offsetof(ours, field) == offsetof(kernel, field), \
                #ours "." #field " is not where <linux/acrn.h> puts it")

#define IOREQ_SAME_SHAPE(ours, kernel)                                  \
  static_assert(sizeof(ours) == sizeof(kernel), #ours " size differs"); \
  static_assert(alignof(ours) == alignof(kernel), #ours " alignment differs")

// Constants.
static_assert(kIoRequestMax == ACRN_IO_REQUEST_MAX);
static_assert(kStatePending == ACRN_IOREQ_STATE_PENDING);
static_assert(kStateComplete == ACRN_IOREQ_STATE_COMPLETE);
static_assert(kStateProcessing == ACRN_IOREQ_STATE_PROCESSING);
static_assert(kStateFree == ACRN_IOREQ_STATE_FREE);
static_assert(kTypePortIo == ACRN_IOREQ_TYPE_PORTIO);
static_assert(kTypeMmio == ACRN_IOREQ_TYPE_MMIO);
static_assert(kTypePciCfg == ACRN_IOREQ_TYPE_PCICFG);
static_assert(kDirRead == ACRN_IOREQ_DIR_READ);
static_assert(kDirWrite == ACRN_IOREQ_DIR_WRITE);
static_assert(kIoeventfdFlagPio == ACRN_IOEVENTFD_FLAG_PIO);
static_assert(kIoeventfdFlagDatamatch == ACRN_IOEVENTFD_FLAG_DATAMATCH);
static_assert(kIoeventfdFlagDeassign == ACRN_IOEVENTFD_FLAG_DEASSIGN);

// struct acrn_mmio_request
IOREQ_SAME_SHAPE(MmioRequest, struct acrn_mmio_request);
IOREQ_SAME_OFFSET(MmioRequest, struct acrn_mmio_request, direction);
IOREQ_SAME_OFFSET(MmioRequest, struct acrn_mmio_request, reserved);
IOREQ_SAME_OFFSET(MmioRequest, struct acrn_mmio_request, address);
IOREQ_SAME_OFFSET(MmioRequest, struct acrn_mmio_request, size);
IOREQ_SAME_OFFSET(MmioRequest, struct acrn_mmio_request, value);

// struct acrn_pio_request
IOREQ_SAME_SHAPE(PioRequest, struct acrn_pio_request);
IOREQ_SAME_OFFSET(PioRequest, struct acrn_pio_request, direction);
IOREQ_SAME_OFFSET(PioRequest, struct acrn_pio_request, reserved);
IOREQ_SAME_OFFSET(PioRequest, struct acrn_pio_request, address);
IOREQ_SAME_OFFSET(PioRequest, struct acrn_pio_request, size);
IOREQ_SAME_OFFSET(PioRequest, struct acrn_pio_request, value);

// struct acrn_pci_request
IOREQ_SAME_SHAPE(PciRequest, struct acrn_pci_request);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, direction);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, reserved);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, size);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, value);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, bus);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, dev);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, func);
IOREQ_SAME_OFFSET(PciRequest, struct acrn_pci_request, reg);

// pci_request must share direction, size and value with pio_request [cf8cfc].
static_assert(offsetof(PciRequest, direction) == offsetof(PioRequest, direction));
static_assert(offsetof(PciRequest, size) == offsetof(PioRequest, size));
static_assert(offsetof(PciRequest, value) == offsetof(PioRequest, value));

// struct acrn_io_request
IOREQ_SAME_SHAPE(IoRequest, struct acrn_io_request);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, type);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, completion_polling);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reserved0);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reqs);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reqs.pio_request);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reqs.pci_request);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reqs.mmio_request);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reqs.data);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, reserved1);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, kernel_handled);
IOREQ_SAME_OFFSET(IoRequest, struct acrn_io_request, processed);
static_assert(offsetof(IoRequest, reqs) == 64, "the union starts at byte 64");
static_assert(sizeof(IoRequest::reqs) == 64, "the union is 64 bytes");

// struct acrn_io_request_buffer
IOREQ_SAME_SHAPE(SharedPage, struct acrn_io_request_buffer);
static_assert(offsetof(SharedPage, slots) ==
              offsetof(struct acrn_io_request_buffer, req_slot));
static_assert(sizeof(SharedPage::slots) ==
              sizeof(acrn_io_request_buffer::req_slot));

// struct acrn_ioeventfd
IOREQ_SAME_SHAPE(IoeventfdArgs, struct acrn_ioeventfd);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, fd);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, flags);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, addr);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, len);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, reserved);
IOREQ_SAME_OFFSET(IoeventfdArgs, struct acrn_ioeventfd, data);

#undef IOREQ_SAME_OFFSET
#undef IOREQ_SAME_SHAPE

}  // namespace
}  // namespace ioreq
