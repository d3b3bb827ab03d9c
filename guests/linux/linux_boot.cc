#include "guests/linux/linux_boot.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace ioreq {
namespace guests {
namespace {

namespace bp = bootparam;

template <typename T>
T Get(absl::Span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void Put(uint8_t* bytes, size_t offset, T value) {
  std::memcpy(bytes + offset, &value, sizeof(T));
}

absl::Status Bad(const std::string& why) {
  return absl::InvalidArgumentError("bzImage: " + why);
}

constexpr uint32_t kPage = 4096;

}  // namespace

absl::StatusOr<BzImage> ParseBzImage(absl::Span<const uint8_t> image) {
  if (image.size() < bp::kInitSize + 4) {
    return Bad(absl::StrFormat("%u bytes, shorter than a setup header",
                               image.size()));
  }
  if (Get<uint16_t>(image, bp::kBootFlag) != 0xAA55) {
    return Bad("no boot flag 0xAA55 at 0x1FE: not a Linux kernel image");
  }
  if (Get<uint32_t>(image, bp::kHeaderMagic) != bp::kHdrS) {
    return Bad("no \"HdrS\" at 0x202: a kernel older than boot protocol 2.00");
  }
  BzImage out;
  out.version = Get<uint16_t>(image, bp::kVersion);
  if (out.version < bp::kMinVersion) {
    return Bad(absl::StrFormat("boot protocol %d.%02d; this loader needs 2.06",
                               out.version >> 8, out.version & 0xFF));
  }
  if ((image[bp::kLoadFlags] & bp::kLoadedHigh) == 0) {
    return Bad("a zImage (loads low); only a bzImage is loaded");
  }
  const size_t header_end = 0x202 + image[bp::kJump + 1];
  uint32_t setup_sects = image[bp::kSetupSects];
  if (setup_sects == 0) setup_sects = 4;  // as the protocol says
  const size_t kernel_offset = (setup_sects + 1) * size_t{512};
  if (header_end > kernel_offset || kernel_offset >= image.size()) {
    return Bad(absl::StrFormat(
        "setup of %u sectors (header to %#x) leaves no kernel in %u bytes",
        setup_sects, header_end, image.size()));
  }
  out.code32_start = Get<uint32_t>(image, bp::kCode32Start);
  out.cmdline_size = Get<uint32_t>(image, bp::kCmdlineSize);
  out.initrd_addr_max = Get<uint32_t>(image, bp::kInitrdAddrMax);
  out.init_size = out.version >= 0x020A ? Get<uint32_t>(image, bp::kInitSize) : 0;
  out.setup_header = image.subspan(bp::kSetupHeader, header_end - bp::kSetupHeader);
  out.kernel = image.subspan(kernel_offset);
  return out;
}

absl::StatusOr<LinuxLayout> LoadLinux(uint8_t* memory, size_t memory_size,
                                      const BzImage& image,
                                      absl::string_view cmdline,
                                      absl::Span<const uint8_t> initrd) {
  LinuxLayout layout;
  layout.zero_page = kZeroPageAddress;
  layout.cmdline = kCmdlineAddress;
  layout.entry = image.code32_start;
  if (cmdline.size() > image.cmdline_size) {
    return Bad(absl::StrFormat("a command line of %u bytes; the kernel takes %u",
                               cmdline.size(), image.cmdline_size));
  }
  if (cmdline.find('\0') != absl::string_view::npos) {
    return Bad("the command line holds a NUL byte");
  }
  if (image.code32_start < kHighRamStart) {
    return Bad(absl::StrFormat("code32_start %#x is below 1 MiB",
                               image.code32_start));
  }
  // The kernel needs init_size bytes from its start (it decompresses in
  // place), and at least its own size.
  const uint64_t kernel_end =
      uint64_t{image.code32_start} +
      std::max<uint64_t>(image.kernel.size(), image.init_size);
  if (memory_size > 0xFFFFF000u) memory_size = 0xFFFFF000u;  // 32-bit addresses
  if (kernel_end > memory_size) {
    return Bad(absl::StrFormat(
        "the kernel needs memory up to %#x; the guest has %#x", kernel_end,
        memory_size));
  }
  if (!initrd.empty()) {
    const uint64_t top =
        std::min<uint64_t>(memory_size, uint64_t{image.initrd_addr_max} + 1);
    if (initrd.size() > top) {
      return Bad(absl::StrFormat("an initrd of %u bytes does not fit below %#x",
                                 initrd.size(), top));
    }
    const uint64_t start = (top - initrd.size()) & ~uint64_t{kPage - 1};
    if (start < kernel_end) {
      return Bad(absl::StrFormat(
          "the initrd (%u bytes) and the kernel (to %#x) overlap in %#x "
          "bytes of memory",
          initrd.size(), kernel_end, memory_size));
    }
    layout.initrd = static_cast<uint32_t>(start);
    layout.initrd_size = static_cast<uint32_t>(initrd.size());
  }
  // Everything fits: write.
  uint8_t* zero = memory + layout.zero_page;
  std::memset(zero, 0, bp::kZeroPageBytes);
  std::memcpy(zero + bp::kSetupHeader, image.setup_header.data(),
              image.setup_header.size());
  zero[bp::kTypeOfLoader] = 0xFF;
  zero[bp::kLoadFlags] |= bp::kCanUseHeap;
  // The heap's end, as an offset from the real-mode setup's start (unused
  // by the 32-bit entry, set as loaders do).
  Put<uint16_t>(zero, bp::kHeapEndPtr, 0xFE00);
  Put<uint32_t>(zero, bp::kCmdLinePtr, layout.cmdline);
  Put<uint32_t>(zero, bp::kRamdiskImage, layout.initrd);
  Put<uint32_t>(zero, bp::kRamdiskSize, layout.initrd_size);
  struct Range {
    uint64_t start, end;
    uint32_t type;
  };
  const Range map[] = {
      {0, kLowRamEnd, bp::kE820Ram},
      {kLowRamEnd, 0xA0000, bp::kE820Reserved},   // the EBDA
      {0xF0000, kHighRamStart, bp::kE820Reserved},  // the BIOS area
      {kHighRamStart, memory_size, bp::kE820Ram},
  };
  for (const Range& r : map) {
    uint8_t* e = zero + bp::kE820Table + 20 * layout.e820_entries;
    Put<uint64_t>(e, 0, r.start);
    Put<uint64_t>(e, 8, r.end - r.start);
    Put<uint32_t>(e, 16, r.type);
    ++layout.e820_entries;
  }
  zero[bp::kE820Entries] = static_cast<uint8_t>(layout.e820_entries);
  std::memcpy(memory + layout.cmdline, cmdline.data(), cmdline.size());
  memory[layout.cmdline + cmdline.size()] = 0;
  std::memcpy(memory + image.code32_start, image.kernel.data(),
              image.kernel.size());
  if (!initrd.empty()) {
    std::memcpy(memory + layout.initrd, initrd.data(), initrd.size());
  }
  return layout;
}

}  // namespace guests
}  // namespace ioreq
