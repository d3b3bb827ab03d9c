#include "guests/linux/linux_boot.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace guests {
namespace {

namespace bp = bootparam;

template <typename T>
T At(const std::vector<uint8_t>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void Set(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// A bzImage as a 6.1 kernel's header has it (protocol 2.15, 27 setup
// sectors, relocatable, initrd_addr_max 0x7FFFFFFF), with `kernel_bytes`
// of protected-mode kernel counting up from 1.
std::vector<uint8_t> FakeBzImage(size_t kernel_bytes, uint32_t init_size) {
  const size_t setup_sects = 27;
  std::vector<uint8_t> image((setup_sects + 1) * 512 + kernel_bytes, 0);
  image[bp::kSetupSects] = setup_sects;
  Set<uint16_t>(image, bp::kBootFlag, 0xAA55);
  image[bp::kJump] = 0xEB;
  image[bp::kJump + 1] = 0x6A;  // the header ends at 0x26C
  Set<uint32_t>(image, bp::kHeaderMagic, bp::kHdrS);
  Set<uint16_t>(image, bp::kVersion, 0x020F);
  image[bp::kLoadFlags] = bp::kLoadedHigh;
  Set<uint32_t>(image, bp::kCode32Start, 0x100000);
  Set<uint32_t>(image, bp::kInitrdAddrMax, 0x7FFFFFFF);
  Set<uint32_t>(image, bp::kCmdlineSize, 2047);
  Set<uint32_t>(image, bp::kInitSize, init_size);
  for (size_t i = 0; i < kernel_bytes; ++i) {
    image[(setup_sects + 1) * 512 + i] = static_cast<uint8_t>(i + 1);
  }
  return image;
}

TEST(LinuxBootTest, ParsesTheSetupHeader) {
  std::vector<uint8_t> image = FakeBzImage(8192, 0x300000);
  absl::StatusOr<BzImage> parsed = ParseBzImage(image);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->version, 0x020F);
  EXPECT_EQ(parsed->code32_start, 0x100000u);
  EXPECT_EQ(parsed->cmdline_size, 2047u);
  EXPECT_EQ(parsed->init_size, 0x300000u);
  EXPECT_EQ(parsed->setup_header.size(), 0x26Cu - 0x1F1u);
  EXPECT_EQ(parsed->kernel.size(), 8192u);
  EXPECT_EQ(parsed->kernel[0], 1);
}

TEST(LinuxBootTest, LaysOutWhatTheBootProtocolAsks) {
  std::vector<uint8_t> image = FakeBzImage(8192, 0x300000);
  BzImage parsed = *ParseBzImage(image);
  std::vector<uint8_t> memory(16 << 20, 0xCC);
  std::vector<uint8_t> initrd(10000, 0x5A);
  const std::string cmdline = "console=ttyS0 reboot=t";
  absl::StatusOr<LinuxLayout> layout =
      LoadLinux(memory.data(), memory.size(), parsed, cmdline, initrd);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->entry, 0x100000u);

  // The zero page: the header copied, then the loader's fields.
  std::vector<uint8_t> zero(memory.begin() + layout->zero_page,
                            memory.begin() + layout->zero_page + 4096);
  EXPECT_EQ(At<uint32_t>(zero, bp::kHeaderMagic), bp::kHdrS);
  EXPECT_EQ(At<uint16_t>(zero, bp::kVersion), 0x020F);
  EXPECT_EQ(zero[bp::kTypeOfLoader], 0xFF);
  EXPECT_EQ(zero[bp::kLoadFlags], bp::kLoadedHigh | bp::kCanUseHeap);
  EXPECT_EQ(At<uint32_t>(zero, bp::kCmdLinePtr), layout->cmdline);
  EXPECT_EQ(zero[0x26C], 0) << "past the header: zero, not the image's byte";
  EXPECT_EQ(zero[0], 0);

  // The initrd: page-aligned, at the top of memory, after the kernel.
  EXPECT_EQ(layout->initrd, ((16u << 20) - 10000) & ~4095u);
  EXPECT_EQ(At<uint32_t>(zero, bp::kRamdiskImage), layout->initrd);
  EXPECT_EQ(At<uint32_t>(zero, bp::kRamdiskSize), 10000u);
  EXPECT_EQ(memory[layout->initrd], 0x5A);
  EXPECT_EQ(memory[layout->initrd + 9999], 0x5A);

  // The e820 map: low RAM, the EBDA and BIOS holes, RAM from 1 MiB.
  ASSERT_EQ(zero[bp::kE820Entries], 4);
  struct Entry {
    uint64_t addr, size;
    uint32_t type;
  };
  const Entry want[] = {{0, 0x9FC00, 1},
                        {0x9FC00, 0x400, 2},
                        {0xF0000, 0x10000, 2},
                        {0x100000, (16u << 20) - 0x100000, 1}};
  for (int i = 0; i < 4; ++i) {
    const size_t e = bp::kE820Table + 20 * i;
    EXPECT_EQ(At<uint64_t>(zero, e), want[i].addr) << i;
    EXPECT_EQ(At<uint64_t>(zero, e + 8), want[i].size) << i;
    EXPECT_EQ(At<uint32_t>(zero, e + 16), want[i].type) << i;
  }

  // The command line, NUL-terminated; the kernel at code32_start.
  EXPECT_EQ(std::string(reinterpret_cast<char*>(&memory[layout->cmdline])),
            cmdline);
  EXPECT_EQ(memory[0x100000], 1);
  EXPECT_EQ(memory[0x100000 + 8191], static_cast<uint8_t>(8192));
}

TEST(LinuxBootTest, RefusesWhatIsNotABzImage) {
  const std::vector<uint8_t> good = FakeBzImage(4096, 0);
  struct Case {
    const char* name;
    void (*spoil)(std::vector<uint8_t>&);
    const char* says;
  } cases[] = {
      {"short", [](std::vector<uint8_t>& i) { i.resize(0x200); }, "shorter"},
      {"boot flag", [](std::vector<uint8_t>& i) { i[bp::kBootFlag] = 0; },
       "0xAA55"},
      {"magic", [](std::vector<uint8_t>& i) { i[bp::kHeaderMagic] = 'X'; },
       "HdrS"},
      {"old protocol",
       [](std::vector<uint8_t>& i) { Set<uint16_t>(i, bp::kVersion, 0x0204); },
       "2.06"},
      {"zImage", [](std::vector<uint8_t>& i) { i[bp::kLoadFlags] = 0; },
       "zImage"},
      {"setup past the end",
       [](std::vector<uint8_t>& i) { i[bp::kSetupSects] = 200; }, "no kernel"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> image = good;
    c.spoil(image);
    absl::StatusOr<BzImage> parsed = ParseBzImage(image);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.says), absl::string_view::npos)
        << c.name << ": " << parsed.status();
  }
}

TEST(LinuxBootTest, RefusesLayoutsThatDoNotFitAndWritesNothing) {
  std::vector<uint8_t> image = FakeBzImage(4096, 0x800000);  // needs 9 MiB
  BzImage parsed = *ParseBzImage(image);
  std::vector<uint8_t> memory(8 << 20, 0xCC);
  EXPECT_FALSE(LoadLinux(memory.data(), memory.size(), parsed, "", {}).ok());
  memory.assign(16 << 20, 0xCC);
  std::vector<uint8_t> big_initrd(8 << 20, 1);  // overlaps the kernel
  absl::Status s =
      LoadLinux(memory.data(), memory.size(), parsed, "", big_initrd).status();
  EXPECT_NE(s.message().find("overlap"), absl::string_view::npos) << s;
  EXPECT_FALSE(LoadLinux(memory.data(), memory.size(), parsed,
                         std::string(3000, 'a'), {})
                   .ok());
  EXPECT_FALSE(LoadLinux(memory.data(), memory.size(), parsed,
                         std::string("a\0b", 3), {})
                   .ok());
  for (uint8_t b : memory) ASSERT_EQ(b, 0xCC) << "a refused load wrote memory";
}

}  // namespace
}  // namespace guests
}  // namespace ioreq
