#include "core/kvm/trapped_exit.h"

#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace ioreq {
namespace kvm {
namespace {

// A run structure as KVM maps it: the struct, then the port I/O data page.
constexpr size_t kRunSize = 3 * 4096;
constexpr uint64_t kDataOffset = 4096;

struct RunBuffer {
  RunBuffer() : bytes(new (std::align_val_t(64)) uint8_t[kRunSize]()) {}
  ~RunBuffer() { ::operator delete[](bytes, std::align_val_t(64)); }
  kvm_run& run() { return *reinterpret_cast<kvm_run*>(bytes); }
  uint8_t* data() { return bytes + kDataOffset; }
  uint8_t* bytes;
};

void SetPort(RunBuffer& r, uint8_t direction, uint16_t port, uint8_t size,
             uint32_t count) {
  r.run().exit_reason = KVM_EXIT_IO;
  r.run().io.direction = direction;
  r.run().io.port = port;
  r.run().io.size = size;
  r.run().io.count = count;
  r.run().io.data_offset = kDataOffset;
}

TEST(TrappedExit, PortWriteOfEachSize) {
  for (uint8_t size : {1, 2, 4}) {
    RunBuffer r;
    SetPort(r, KVM_EXIT_IO_OUT, 0x3F8, size, 1);
    const uint32_t value = 0xA1B2C3D4;
    std::memcpy(r.data(), &value, 4);
    absl::StatusOr<TrappedExit> exit = DecodeTrappedExit(r.run(), kRunSize);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->kind, TrappedExit::kPort);
    EXPECT_EQ(exit->count, 1u);
    EXPECT_EQ(exit->first.type, kTypePortIo);
    EXPECT_EQ(exit->first.direction, kDirWrite);
    EXPECT_EQ(exit->first.address, 0x3F8u);
    EXPECT_EQ(exit->first.size, size);
    EXPECT_EQ(exit->first.value, value & SizeMask(size));
  }
}

TEST(TrappedExit, PortReadValueGoesBackMaskedToItsSize) {
  for (uint8_t size : {1, 2, 4}) {
    RunBuffer r;
    SetPort(r, KVM_EXIT_IO_IN, 0xCFC, size, 1);
    std::memset(r.data(), 0xEE, 8);
    absl::StatusOr<TrappedExit> exit = DecodeTrappedExit(r.run(), kRunSize);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->first.direction, kDirRead);
    EXPECT_EQ(exit->first.value, 0u);
    CompleteRead(r.run(), *exit, 0, 0x1122334455667788ull);
    uint64_t stored = 0;
    std::memcpy(&stored, r.data(), 8);
    // The access's bytes hold the value; the bytes after it are untouched.
    const uint64_t untouched = 0xEEEEEEEEEEEEEEEEull & ~SizeMask(size);
    EXPECT_EQ(stored, (0x1122334455667788ull & SizeMask(size)) | untouched);
  }
}

TEST(TrappedExit, StringIoIsOneAccessPerElement) {
  RunBuffer r;
  SetPort(r, KVM_EXIT_IO_OUT, 0x3F8, 2, 3);
  const uint16_t words[3] = {0x1111, 0x2222, 0x3333};
  std::memcpy(r.data(), words, sizeof(words));
  absl::StatusOr<TrappedExit> exit = DecodeTrappedExit(r.run(), kRunSize);
  ASSERT_TRUE(exit.ok()) << exit.status();
  ASSERT_EQ(exit->count, 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const IoAccess a = Element(r.run(), *exit, i);
    EXPECT_EQ(a.address, 0x3F8u);
    EXPECT_EQ(a.size, 2u);
    EXPECT_EQ(a.value, words[i]);
  }
  SetPort(r, KVM_EXIT_IO_IN, 0x3F8, 1, 4);
  exit = DecodeTrappedExit(r.run(), kRunSize);
  ASSERT_TRUE(exit.ok()) << exit.status();
  for (uint32_t i = 0; i < 4; ++i) CompleteRead(r.run(), *exit, i, 0xA0 + i);
  EXPECT_EQ(r.data()[0], 0xA0);
  EXPECT_EQ(r.data()[3], 0xA3);
}

TEST(TrappedExit, MmioOfEachSize) {
  for (uint8_t size = 1; size <= 8; ++size) {
    RunBuffer r;
    r.run().exit_reason = KVM_EXIT_MMIO;
    r.run().mmio.phys_addr = 0xE0000010;
    r.run().mmio.len = size;
    r.run().mmio.is_write = 1;
    const uint64_t value = 0x0102030405060708ull;
    std::memcpy(r.run().mmio.data, &value, 8);
    absl::StatusOr<TrappedExit> exit = DecodeTrappedExit(r.run(), kRunSize);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->kind, TrappedExit::kMmio);
    EXPECT_EQ(exit->first.type, kTypeMmio);
    EXPECT_EQ(exit->first.direction, kDirWrite);
    EXPECT_EQ(exit->first.address, 0xE0000010u);
    EXPECT_EQ(exit->first.value, value & SizeMask(size));

    r.run().mmio.is_write = 0;
    exit = DecodeTrappedExit(r.run(), kRunSize);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->first.direction, kDirRead);
    CompleteRead(r.run(), *exit, 0, ~uint64_t{0});
    uint64_t stored = 0;
    std::memcpy(&stored, r.run().mmio.data, 8);
    EXPECT_EQ(stored, SizeMask(size));
  }
}

TEST(TrappedExit, RefusesWhatIsNotAnAccess) {
  RunBuffer r;
  r.run().exit_reason = KVM_EXIT_HLT;
  EXPECT_EQ(DecodeTrappedExit(r.run(), kRunSize).status().code(),
            absl::StatusCode::kInvalidArgument);

  for (uint8_t size : {0, 3, 8}) {
    SetPort(r, KVM_EXIT_IO_OUT, 0x80, size, 1);
    EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << int{size};
  }
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 1, 0);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "count 0";
  SetPort(r, 7, 0x80, 1, 1);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "direction 7";
  SetPort(r, KVM_EXIT_IO_OUT, 0xFFFE, 4, 1);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "past 0xFFFF";
  SetPort(r, KVM_EXIT_IO_OUT, 0xFFFF, 2, 1);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "one byte past 0xFFFF";
  SetPort(r, KVM_EXIT_IO_OUT, 0xFFFC, 4, 1);
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "ends at 0xFFFF";
  SetPort(r, KVM_EXIT_IO_OUT, 0xFFFF, 1, 1);
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "the last port";
  // A string of more elements than the model takes, though its bytes fit.
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 1, kMaxStringElements + 1);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "elements";
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 1, kMaxStringElements);
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "the most elements";

  // Elements that would lie outside the run structure.
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 4, 2049);
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "one element past the end";
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 1, 1);
  r.run().io.data_offset = kRunSize;
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "offset at end";
  r.run().io.data_offset = ~uint64_t{0} - 1;
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "offset wraps";
  r.run().io.data_offset = 8;
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok())
      << "inside the struct itself";
  // The data may start right after the struct and end on the run's last
  // byte.
  r.run().io.data_offset = sizeof(kvm_run);
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "right after the struct";
  r.run().io.data_offset = kRunSize - 1;
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "the last byte";
  SetPort(r, KVM_EXIT_IO_OUT, 0x80, 4, 4);
  r.run().io.data_offset = kRunSize - 16;
  EXPECT_TRUE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "ends on the last byte";
  r.run().io.data_offset = kRunSize - 15;
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "one byte past";

  r.run().exit_reason = KVM_EXIT_MMIO;
  r.run().mmio.phys_addr = 0x1000;
  for (uint32_t len : {0u, 9u, 4096u}) {
    r.run().mmio.len = len;
    EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << len;
  }
  r.run().mmio.len = 4;
  r.run().mmio.phys_addr = ~uint64_t{0} - 1;
  EXPECT_FALSE(DecodeTrappedExit(r.run(), kRunSize).ok()) << "wraps";
}

}  // namespace
}  // namespace kvm
}  // namespace ioreq
