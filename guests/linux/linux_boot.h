// guests/linux/linux_boot.h: an unmodified Linux bzImage loaded into guest
// memory by the x86 boot protocol (the kernel's
// Documentation/arch/x86/boot.rst), ready for its 32-bit entry.
//
// ParseBzImage() checks the image's setup header (boot flag 0xAA55, "HdrS",
// protocol 2.06 or later, a bzImage that loads high) and splits off the
// protected-mode kernel. LoadLinux() writes, into a flat guest memory that
// starts at physical 0, what a boot loader leaves for the 32-bit entry:
//   - the zero page (struct boot_params) at LinuxLayout::zero_page: the
//     image's setup header copied in, type_of_loader 0xFF (undefined),
//     CAN_USE_HEAP, the command line's address, the initrd's, and an e820
//     map: RAM below 0x9FC00, the EBDA and BIOS areas reserved, RAM from
//     1 MiB to the end of memory;
//   - the command line, NUL-terminated, at LinuxLayout::cmdline;
//   - the protected-mode kernel at code32_start (1 MiB);
//   - the initrd, page-aligned, as high as initrd_addr_max and the memory
//     allow.
// The vCPU then enters 32-bit protected mode at the kernel's entry with ESI
// pointing at the zero page (kvm::KvmVcpu::EnterProtected32()).
// Every malformed image or layout that does not fit is InvalidArgument with
// one line saying which field and why; nothing is half-written then.
//
// Example:
//   absl::StatusOr<ioreq::guests::BzImage> image = ParseBzImage(kernel_bytes);
//   absl::StatusOr<ioreq::guests::LinuxLayout> layout = LoadLinux(
//       vm.memory(), vm.memory_size(), *image, "console=ttyS0", initrd_bytes);
//   vm.vcpu(0).EnterProtected32(layout->entry, layout->zero_page);
#ifndef IOREQ_GUESTS_LINUX_LINUX_BOOT_H_
#define IOREQ_GUESTS_LINUX_LINUX_BOOT_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ioreq {
namespace guests {

// Offsets in the image and in the zero page (boot_params) that the loader
// reads or writes; the setup header sits at the same offset in both.
namespace bootparam {
inline constexpr size_t kSetupHeader = 0x1F1;
inline constexpr size_t kSetupSects = 0x1F1;      // u8
inline constexpr size_t kBootFlag = 0x1FE;        // u16, 0xAA55
inline constexpr size_t kJump = 0x200;            // u16; byte 0x201: header end
inline constexpr size_t kHeaderMagic = 0x202;     // u32, "HdrS"
inline constexpr size_t kVersion = 0x206;         // u16
inline constexpr size_t kTypeOfLoader = 0x210;    // u8
inline constexpr size_t kLoadFlags = 0x211;       // u8
inline constexpr size_t kCode32Start = 0x214;     // u32
inline constexpr size_t kRamdiskImage = 0x218;    // u32
inline constexpr size_t kRamdiskSize = 0x21C;     // u32
inline constexpr size_t kHeapEndPtr = 0x224;      // u16
inline constexpr size_t kCmdLinePtr = 0x228;      // u32
inline constexpr size_t kInitrdAddrMax = 0x22C;   // u32
inline constexpr size_t kCmdlineSize = 0x238;     // u32, protocol 2.06+
inline constexpr size_t kInitSize = 0x260;        // u32, protocol 2.10+
inline constexpr size_t kE820Entries = 0x1E8;     // u8
inline constexpr size_t kE820Table = 0x2D0;       // 20-byte entries
inline constexpr size_t kE820Max = 128;
inline constexpr size_t kZeroPageBytes = 4096;
inline constexpr uint32_t kHdrS = 0x53726448;     // "HdrS"
inline constexpr uint16_t kMinVersion = 0x0206;
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;
}  // namespace bootparam

struct BzImage {
  uint16_t version = 0;         // boot protocol, e.g. 0x020F
  uint32_t code32_start = 0;    // where the protected-mode kernel goes
  uint32_t cmdline_size = 0;    // longest command line, without its NUL
  uint32_t initrd_addr_max = 0;
  uint32_t init_size = 0;       // memory the kernel needs from code32_start
  absl::Span<const uint8_t> setup_header;  // image[0x1F1, header end)
  absl::Span<const uint8_t> kernel;        // the protected-mode kernel
};

// Views into `image`, which must outlive the result.
absl::StatusOr<BzImage> ParseBzImage(absl::Span<const uint8_t> image);

struct LinuxLayout {
  uint32_t zero_page = 0;   // ESI at the entry
  uint32_t cmdline = 0;
  uint32_t entry = 0;       // code32_start
  uint32_t initrd = 0;      // 0 without an initrd
  uint32_t initrd_size = 0;
  uint32_t e820_entries = 0;
};

inline constexpr uint32_t kZeroPageAddress = 0x7000;
inline constexpr uint32_t kCmdlineAddress = 0x20000;
inline constexpr uint32_t kLowRamEnd = 0x9FC00;   // the EBDA starts here
inline constexpr uint32_t kHighRamStart = 0x100000;

// Writes the boot into `memory` (guest physical 0 to memory_size).
absl::StatusOr<LinuxLayout> LoadLinux(uint8_t* memory, size_t memory_size,
                                      const BzImage& image,
                                      absl::string_view cmdline,
                                      absl::Span<const uint8_t> initrd);

}  // namespace guests
}  // namespace ioreq

#endif  // IOREQ_GUESTS_LINUX_LINUX_BOOT_H_
