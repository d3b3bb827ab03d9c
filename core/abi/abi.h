// core/abi/abi.h: the ACRN I/O request ABI, byte for byte.
//
// These are the structures the hypervisor and the Service VM share through
// the 4 KiB I/O request page [abi]. They are declared here rather than taken
// from <linux/acrn.h> so that the model can name them in its own namespace,
// and abi.cc proves with static_assert that size, alignment and every field
// offset are identical to the kernel's UAPI header.
//
// Example:
//   ioreq::SharedPage page;                  // 16 slots, one per vCPU
//   ioreq::IoRequest& slot = page.slots[3];  // vCPU 3's slot
//   slot.type = ioreq::kTypePortIo;
//   slot.reqs.pio_request.address = 0x3f8;
//
// The state word `processed` is only ever touched through the acquire/release
// helpers of core/abi/slot_state.h.
#ifndef IOREQ_CORE_ABI_ABI_H_
#define IOREQ_CORE_ABI_ABI_H_

#include <cstddef>
#include <cstdint>

namespace ioreq {

// ACRN_IO_REQUEST_MAX: slots per page, and so the most vCPUs a VM may have.
inline constexpr int kIoRequestMax = 16;
inline constexpr size_t kSlotSize = 256;
inline constexpr size_t kPageSize = 4096;

// Slot states. The numeric values are the ABI's and are NOT in life-cycle
// order: FREE -> PENDING -> PROCESSING -> COMPLETE -> FREE.
inline constexpr uint32_t kStatePending = 0;
inline constexpr uint32_t kStateComplete = 1;
inline constexpr uint32_t kStateProcessing = 2;
inline constexpr uint32_t kStateFree = 3;

// Request types.
inline constexpr uint32_t kTypePortIo = 0;
inline constexpr uint32_t kTypeMmio = 1;
inline constexpr uint32_t kTypePciCfg = 2;

// Access directions.
inline constexpr uint32_t kDirRead = 0;
inline constexpr uint32_t kDirWrite = 1;

// struct acrn_mmio_request
struct MmioRequest {
  uint32_t direction;
  uint32_t reserved;
  uint64_t address;
  uint64_t size;
  uint64_t value;
};

// struct acrn_pio_request
struct PioRequest {
  uint32_t direction;
  uint32_t reserved;
  uint64_t address;
  uint64_t size;
  uint32_t value;
};

// struct acrn_pci_request: shares direction, size and value offsets with
// PioRequest so that a 0xCFC access can be rewritten in place [cf8cfc].
struct PciRequest {
  uint32_t direction;
  uint32_t reserved[3];
  uint64_t size;
  uint32_t value;
  uint32_t bus;
  uint32_t dev;
  uint32_t func;
  uint32_t reg;
};

// struct acrn_io_request: one 256-byte, 256-aligned slot.
struct alignas(kSlotSize) IoRequest {
  uint32_t type;
  uint32_t completion_polling;
  uint32_t reserved0[14];
  union {
    PioRequest pio_request;
    PciRequest pci_request;
    MmioRequest mmio_request;
    uint64_t data[8];
  } reqs;
  uint32_t reserved1;
  uint32_t kernel_handled;
  uint32_t processed;  // the state; see core/abi/slot_state.h
};

// struct acrn_io_request_buffer: the shared page, slot i owned by vCPU i.
// Its own alignment is the slot's, as in the UAPI header; the page that
// holds it is 4 KiB-aligned (PageFrame).
struct SharedPage {
  IoRequest slots[kIoRequestMax];
};

// A 4 KiB-aligned page holding the buffer: what a VM's shared page is.
struct alignas(kPageSize) PageFrame {
  SharedPage buffer;
};

static_assert(sizeof(IoRequest) == kSlotSize, "a slot is 256 bytes");
static_assert(alignof(IoRequest) == kSlotSize, "a slot is 256-aligned");
static_assert(sizeof(SharedPage) == kPageSize, "16 slots fill one page");
static_assert(sizeof(PageFrame) == kPageSize, "the frame is one page");
static_assert(alignof(PageFrame) == kPageSize, "the frame is page-aligned");

// struct acrn_ioeventfd flags [ioeventfd].
inline constexpr uint32_t kIoeventfdFlagPio = 0x01;
inline constexpr uint32_t kIoeventfdFlagDatamatch = 0x02;
inline constexpr uint32_t kIoeventfdFlagDeassign = 0x04;

// struct acrn_ioeventfd: the argument of ACRN_IOCTL_IOEVENTFD.
struct IoeventfdArgs {
  uint32_t fd;  // __u32 in the UAPI; holds an eventfd descriptor
  uint32_t flags;
  uint64_t addr;
  uint32_t len;
  uint32_t reserved;
  uint64_t data;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_ABI_ABI_H_
