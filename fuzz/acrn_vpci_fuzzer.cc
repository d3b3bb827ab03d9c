// acrn_vpci: the `acrn` profile's hypervisor-side PCI filter [acrn-vpci]
// (core/harness/acrn_vpci.h) against the rules restated here.
// Input: fixed 8-byte records (a mutation changes one access): a port in
// 0xCF4..0xD03, a size (0 to 127, or that plus 2^32: a hostile request's
// 64-bit size), a direction and a 32-bit value. The hypervisor owns one
// device (00:03.0); the device model owns the rest. Oracle, per access:
// the verdict (forwarded to the HSM, or handled here), a handled read's
// value, the latch after it, and every call into the owned device (which
// device, register, size, direction, value) are what ACRN's vpci.c does:
// 0xCF8 is answered or latched here (size 4 only), every data-port access
// reads and clears the latch, a disabled or invalid data access is
// answered all-ones, a valid one goes to its owner.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/abi/slot_decode.h"
#include "core/harness/acrn_vpci.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

struct Record {
  uint8_t op;      // bit 0: write
  uint8_t port;    // 0xCF4 + port % 16
  uint8_t size;    // bits 0-6: size; bit 7: add 2^32
  uint8_t pad;
  uint32_t value;
};
static_assert(sizeof(Record) == 8, "fixed-size records");

constexpr uint16_t kOwnedBdf = 3 << 3;  // 00:03.0, the hypervisor's
constexpr uint32_t kOwnedValue = 0x5EED0000;

struct OwnedCall {
  uint16_t bdf;
  uint32_t reg, size;
  bool write;
  uint32_t value;
  bool operator==(const OwnedCall& o) const {
    return bdf == o.bdf && reg == o.reg && size == o.size && write == o.write &&
           value == o.value;
  }
};

uint64_t Mask(uint64_t size) { return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<OwnedCall> calls;
  AcrnVpci vpci({kOwnedBdf}, [&calls](uint16_t bdf, uint32_t reg, uint32_t sz,
                                      bool write, uint32_t value) {
    calls.push_back({bdf, reg, sz, write, value});
    return kOwnedValue | reg;
  });
  uint32_t latch = 0;  // the reference's
  for (size_t step = 0; step < size / sizeof(Record); ++step) {
    Record r;
    std::memcpy(&r, data + step * sizeof(Record), sizeof(r));
    const bool write = r.op & 1;
    const uint64_t port = 0xCF4 + r.port % 16;
    const uint64_t access_size =
        (r.size & 0x7F) + ((r.size & 0x80) ? (uint64_t{1} << 32) : 0);
    IoAccess access;
    access.type = kTypePortIo;
    access.direction = write ? kDirWrite : kDirRead;
    access.address = port;
    access.size = access_size;
    access.value = write ? r.value : 0;
    calls.clear();

    // The rules, restated.
    bool forward = false;
    uint64_t read_value = 0;
    std::vector<OwnedCall> want_calls;
    const auto owned = [](uint32_t address) {
      return ((address >> 8) & 0xFFFF) == kOwnedBdf;
    };
    if (port == 0xCF8) {
      if (!write) {
        read_value = access_size == 4 ? latch : ~uint64_t{0};
      } else if (access_size == 4) {
        latch = r.value & 0x80FFFFFCu;  // reserved bits 24-30, 0-1 cleared
        forward = !owned(latch);
      }
    } else if (port >= 0xCFC && port <= 0xCFF) {
      const uint32_t address = latch;
      latch = 0;
      const uint64_t reg = (address & 0xFC) + (port - 0xCFC);
      const bool valid = (access_size == 1 || access_size == 2 || access_size == 4) &&
                         reg % access_size == 0;
      if (!(address & 0x80000000u) || !valid) {
        read_value = ~uint64_t{0};
      } else if (!owned(address)) {
        forward = true;
      } else {
        want_calls.push_back({static_cast<uint16_t>(address >> 8),
                              static_cast<uint32_t>(reg),
                              static_cast<uint32_t>(access_size), write,
                              write ? r.value : 0u});
        read_value = kOwnedValue | reg;
      }
    } else {
      forward = true;
    }

    const VpciOutcome got = vpci.Filter(access);
    FUZZ_CHECK(got.verdict == (forward ? VpciVerdict::kForward : VpciVerdict::kHandled),
               "step %zu: port %#lx size %#lx %s: %s, the rules say %s", step,
               static_cast<unsigned long>(port), static_cast<unsigned long>(access_size),
               write ? "write" : "read", VpciVerdictName(got.verdict),
               forward ? "forward" : "handled");
    if (!forward && !write) {
      FUZZ_CHECK(got.value == (read_value & Mask(access_size)),
                 "step %zu: port %#lx size %#lx read %#lx, the rules say %#lx", step,
                 static_cast<unsigned long>(port), static_cast<unsigned long>(access_size),
                 static_cast<unsigned long>(got.value),
                 static_cast<unsigned long>(read_value & Mask(access_size)));
    }
    FUZZ_CHECK(vpci.latch() == latch, "step %zu: latch %#x, the rules say %#x", step,
               vpci.latch(), latch);
    FUZZ_CHECK(calls == want_calls, "step %zu: %zu calls into the owned device, "
               "the rules say %zu (or they differ)", step, calls.size(), want_calls.size());
  }
  return 0;
}
