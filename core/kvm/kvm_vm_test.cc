// KvmVm's own checks and the page tables it writes, without running a
// guest (vcpu_loop_test runs one). Skips where /dev/kvm is unusable.
#include "core/kvm/kvm_vm.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace kvm {
namespace {

#define SKIP_WITHOUT_KVM()                               \
  if (absl::Status usable = KvmUsable(); !usable.ok()) { \
    GTEST_SKIP() << usable.message();                    \
  }

constexpr size_t kPage = 4096;
constexpr size_t kMemory = 64 * kPage;

TEST(KvmVm, MemoryMustBeWholePagesUpToOneGib) {
  for (size_t bytes : {size_t{0}, size_t{100}, kPage + 1, (size_t{1} << 30) + kPage}) {
    EXPECT_EQ(KvmVm::Create(bytes).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bytes;
  }
  SKIP_WITHOUT_KVM();
  EXPECT_TRUE(KvmVm::Create(kPage).ok());
  EXPECT_TRUE(KvmVm::Create(size_t{1} << 30).ok());  // reserved, not touched
}

// What the identity map translates `va` to, walked as the MMU walks it
// (4-level paging, 2 MiB pages); ~0 where an entry is missing.
uint64_t Translate(const uint8_t* memory, uint64_t cr3, uint64_t va) {
  auto entry = [&](uint64_t table, uint64_t index) {
    uint64_t e;
    std::memcpy(&e, memory + table + index * 8, sizeof(e));
    return e;
  };
  constexpr uint64_t kPresent = 1, kHuge = 0x80, kAddress = 0x000FFFFFFFFFF000ull;
  const uint64_t pml4e = entry(cr3, (va >> 39) & 511);
  if (!(pml4e & kPresent)) return ~0ull;
  const uint64_t pdpte = entry(pml4e & kAddress, (va >> 30) & 511);
  if (!(pdpte & kPresent)) return ~0ull;
  const uint64_t pde = entry(pdpte & kAddress, (va >> 21) & 511);
  if (!(pde & kPresent) || !(pde & kHuge)) return ~0ull;
  return (pde & 0x000FFFFFFFE00000ull) | (va & 0x1FFFFF);
}

// Every 2 MiB page of [0, 4 GiB) maps to itself, user and writable, and
// nothing outside the map's 24 KiB is written.
TEST(KvmVm, TheIdentityMapMapsFourGibToThemselvesInsideItsPages) {
  SKIP_WITHOUT_KVM();
  absl::StatusOr<std::unique_ptr<KvmVm>> vm = KvmVm::Create(kMemory);
  ASSERT_TRUE(vm.ok()) << vm.status();
  uint8_t* memory = (*vm)->memory();
  std::memset(memory, 0xAB, kMemory);
  constexpr uint64_t kAt = 8 * kPage;
  ASSERT_TRUE((*vm)->WriteIdentityMap(kAt).ok());
  for (uint64_t va = 0; va < (uint64_t{4} << 30); va += uint64_t{1} << 21) {
    ASSERT_EQ(Translate(memory, kAt, va), va) << std::hex << va;
    ASSERT_EQ(Translate(memory, kAt, va + 0x1234), va + 0x1234);
  }
  EXPECT_EQ(Translate(memory, kAt, uint64_t{4} << 30), ~0ull);  // not mapped
  uint64_t pml4e;
  std::memcpy(&pml4e, memory + kAt, sizeof(pml4e));
  EXPECT_EQ(pml4e & 7, 7u);  // present, writable, user
  for (size_t i = 0; i < kMemory; ++i) {
    if (i >= kAt && i < kAt + KvmVm::kIdentityMapBytes) continue;
    ASSERT_EQ(memory[i], 0xAB) << "byte " << i << " outside the map written";
  }
}

// The map must be page-aligned and fit; Load() must fit.
TEST(KvmVm, TheMapAndLoadsStayInsideMemory) {
  SKIP_WITHOUT_KVM();
  absl::StatusOr<std::unique_ptr<KvmVm>> vm = KvmVm::Create(kMemory);
  ASSERT_TRUE(vm.ok()) << vm.status();
  const uint64_t last_fit = kMemory - KvmVm::kIdentityMapBytes;
  EXPECT_TRUE((*vm)->WriteIdentityMap(last_fit).ok());
  for (uint64_t gpa : {last_fit + kPage, uint64_t{kMemory}, uint64_t{kMemory} + kPage,
                       uint64_t{100}, ~uint64_t{0} - kPage + 1}) {
    EXPECT_EQ((*vm)->WriteIdentityMap(gpa).code(), absl::StatusCode::kOutOfRange)
        << gpa;
  }
  const std::vector<uint8_t> bytes(16, 0x5A);
  EXPECT_TRUE((*vm)->Load(kMemory - 16, bytes).ok());
  EXPECT_EQ((*vm)->memory()[kMemory - 1], 0x5A);
  EXPECT_EQ((*vm)->Load(kMemory - 15, bytes).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*vm)->Load(kMemory + 1, {}).code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE((*vm)->Load(kMemory, {}).ok());
  EXPECT_EQ((*vm)->Load(~uint64_t{0}, bytes).code(), absl::StatusCode::kOutOfRange);
}

// At most kMaxVcpus vCPUs, numbered in order.
TEST(KvmVm, AtMostSixteenVcpus) {
  SKIP_WITHOUT_KVM();
  absl::StatusOr<std::unique_ptr<KvmVm>> vm = KvmVm::Create(kMemory);
  ASSERT_TRUE(vm.ok()) << vm.status();
  for (uint32_t i = 0; i < KvmVm::kMaxVcpus; ++i) {
    absl::StatusOr<KvmVcpu*> vcpu = (*vm)->AddVcpu();
    ASSERT_TRUE(vcpu.ok()) << i << ": " << vcpu.status();
  }
  EXPECT_EQ((*vm)->AddVcpu().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*vm)->vcpu_count(), KvmVm::kMaxVcpus);
}

}  // namespace
}  // namespace kvm
}  // namespace ioreq
