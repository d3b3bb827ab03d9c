// trapped_exit: any bytes as a vCPU's kvm_run after an exit (the kernel's
// structure, then its port I/O data page). Decoding never reads outside
// the run structure and refuses exactly what does not describe an access;
// each element of an accepted exit carries the bytes the rules say; a
// read's value goes back into those bytes and nowhere else. The oracle is
// an independent restatement of core/kvm/trapped_exit.h's rules.
#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/kvm/trapped_exit.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

constexpr size_t kRunSize = 3 * 4096;  // kvm_run and its data page, as mapped

struct Expect {
  bool valid = false;
  uint64_t count = 0, size = 0, first_byte = 0;  // where element 0's bytes are
};

// The rules, written again another way (128-bit arithmetic, sets).
Expect Reference(const kvm_run& run) {
  Expect e;
  if (run.exit_reason == KVM_EXIT_IO) {
    const uint64_t size = run.io.size, count = run.io.count;
    const bool size_ok = size == 1 || size == 2 || size == 4;
    const bool count_ok = count >= 1 && count <= kvm::kMaxStringElements;
    const bool dir_ok = run.io.direction <= 1;
    const unsigned __int128 end =
        static_cast<unsigned __int128>(run.io.data_offset) + size * count;
    const bool data_ok = run.io.data_offset >= sizeof(kvm_run) && end <= kRunSize;
    const bool port_ok = static_cast<uint32_t>(run.io.port) + size <= 0x10000;
    e.valid = size_ok && count_ok && dir_ok && data_ok && port_ok;
    e.count = count;
    e.size = size;
    e.first_byte = run.io.data_offset;
    return e;
  }
  if (run.exit_reason == KVM_EXIT_MMIO) {
    const uint64_t size = run.mmio.len;
    const unsigned __int128 last =
        static_cast<unsigned __int128>(run.mmio.phys_addr) + size - 1;
    e.valid = size >= 1 && size <= 8 && last < (static_cast<unsigned __int128>(1) << 64);
    e.count = 1;
    e.size = size;
    e.first_byte = offsetof(kvm_run, mmio.data);
    return e;
  }
  return e;
}

uint64_t Little(const uint8_t* p, uint64_t size) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < size; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The run structure exactly as the bytes say, zero past them; aligned as
  // the kernel's mapping is.
  std::vector<uint64_t> storage(kRunSize / 8, 0);
  uint8_t* bytes = reinterpret_cast<uint8_t*>(storage.data());
  std::memcpy(bytes, data, size < kRunSize ? size : kRunSize);
  kvm_run& run = *reinterpret_cast<kvm_run*>(bytes);
  // Half the inputs are steered to the two exits that matter.
  if (size > 0 && (data[0] & 1)) {
    run.exit_reason = (data[0] & 2) ? KVM_EXIT_IO : KVM_EXIT_MMIO;
  }

  const Expect want = Reference(run);
  absl::StatusOr<kvm::TrappedExit> exit = kvm::DecodeTrappedExit(run, kRunSize);
  FUZZ_CHECK(exit.ok() == want.valid, "exit reason %u: decode says %s, rules say %s",
             run.exit_reason, exit.ok() ? "valid" : exit.status().ToString().c_str(),
             want.valid ? "valid" : "invalid");
  if (!exit.ok()) return 0;
  FUZZ_CHECK(exit->count == want.count, "count %u, want %llu", exit->count,
             static_cast<unsigned long long>(want.count));
  const bool port = run.exit_reason == KVM_EXIT_IO;
  const bool write = port ? run.io.direction == KVM_EXIT_IO_OUT : run.mmio.is_write != 0;
  const uint64_t address = port ? run.io.port : run.mmio.phys_addr;
  // Every element, bounded (a page of elements at most).
  for (uint32_t i = 0; i < exit->count; ++i) {
    const IoAccess a = kvm::Element(run, *exit, i);
    FUZZ_CHECK(a.type == (port ? kTypePortIo : kTypeMmio), "element %u type %u", i, a.type);
    FUZZ_CHECK(a.address == address && a.size == want.size,
               "element %u at %#llx size %llu", i,
               static_cast<unsigned long long>(a.address),
               static_cast<unsigned long long>(a.size));
    FUZZ_CHECK(a.direction == (write ? kDirWrite : kDirRead), "element %u direction", i);
    const uint64_t at = want.first_byte + (port ? i * want.size : 0);
    const uint64_t expected = write ? Little(bytes + at, want.size) : 0;
    FUZZ_CHECK(a.value == expected, "element %u value %#llx, want %#llx", i,
               static_cast<unsigned long long>(a.value),
               static_cast<unsigned long long>(expected));
  }
  // A read's value lands in its element's bytes (MMIO: the whole data
  // field, zero-filled past the size) and nowhere else.
  if (!write) {
    const uint32_t i = exit->count - 1;
    std::vector<uint64_t> before = storage;
    const uint64_t value = 0xA5A5A5A55A5A5A5Aull ^ i;
    kvm::CompleteRead(run, *exit, i, value);
    const uint64_t at = want.first_byte + (port ? i * want.size : 0);
    const uint64_t span = port ? want.size : sizeof(run.mmio.data);
    const uint8_t* old = reinterpret_cast<const uint8_t*>(before.data());
    for (uint64_t b = 0; b < kRunSize; ++b) {
      if (b >= at && b < at + span) continue;
      FUZZ_CHECK(bytes[b] == old[b], "CompleteRead changed byte %llu outside [%llu, %llu)",
                 static_cast<unsigned long long>(b), static_cast<unsigned long long>(at),
                 static_cast<unsigned long long>(at + span));
    }
    FUZZ_CHECK(Little(bytes + at, want.size) == (value & SizeMask(want.size)),
               "the read's value did not land");
    for (uint64_t b = want.size; b < span; ++b) {
      FUZZ_CHECK(bytes[at + b] == 0, "MMIO data byte %llu not zeroed",
                 static_cast<unsigned long long>(b));
    }
  }
  return 0;
}
