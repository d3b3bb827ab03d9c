// cf8cfc: port accesses to 0xCF8..0xCFF of every size, compared with the
// formula of SPEC section 4, restated here.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>

#include "core/hsm/cf8cfc.h"
#include "core/abi/slot_decode.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ioreq;
  FuzzedDataProvider in(data, size);
  uint32_t latch = in.ConsumeIntegral<uint32_t>();
  uint32_t model = latch;  // the reference's own copy of the latch
  while (in.remaining_bytes() > 0) {
    const uint64_t port = in.ConsumeIntegralInRange<uint64_t>(0xCF6, 0xD01);
    const uint64_t sz = uint64_t{1} << in.ConsumeIntegralInRange<int>(0, 2);
    const bool write = in.ConsumeBool();
    const uint32_t value = in.ConsumeIntegral<uint32_t>();
    IoRequest req;
    std::memset(static_cast<void*>(&req), 0, sizeof(req));
    req.type = kTypePortIo;
    req.reqs.pio_request.direction = write ? kDirWrite : kDirRead;
    req.reqs.pio_request.address = port;
    req.reqs.pio_request.size = sz;
    req.reqs.pio_request.value = value;

    const Cf8CfcOutcome got = HandleCf8Cfc(latch, req);
    if (port == 0xCF8) {
      FUZZ_CHECK(got == Cf8CfcOutcome::kCompletedInPlace, "0xCF8 not in place");
      if (write) {
        model = value;
      } else {
        FUZZ_CHECK(req.reqs.pio_request.value == model, "0xCF8 read 0x%x, latch 0x%x",
                   req.reqs.pio_request.value, model);
      }
    } else if (port >= 0xCFC && port <= 0xCFF) {
      if ((model & 0x80000000u) == 0) {
        FUZZ_CHECK(got == Cf8CfcOutcome::kCompletedInPlace, "disabled not in place");
        FUZZ_CHECK(req.type == kTypePortIo, "disabled access changed type");
        FUZZ_CHECK(req.reqs.pio_request.value == (write ? value : 0xFFFFFFFFu),
                   "disabled access value 0x%x", req.reqs.pio_request.value);
      } else {
        FUZZ_CHECK(got == Cf8CfcOutcome::kConvertedToPciCfg, "enabled not converted");
        FUZZ_CHECK(req.type == kTypePciCfg, "not PCICFG");
        const PciRequest& p = req.reqs.pci_request;
        FUZZ_CHECK(p.bus == ((model >> 16) & 0xFF), "bus %u", p.bus);
        FUZZ_CHECK(p.dev == ((model >> 11) & 0x1F), "dev %u", p.dev);
        FUZZ_CHECK(p.func == ((model >> 8) & 0x7), "func %u", p.func);
        FUZZ_CHECK(p.reg == (model & 0xFC) + ((model >> 16) & 0xF00) + (port - 0xCFC),
                   "reg 0x%x", p.reg);
        FUZZ_CHECK(p.direction == (write ? kDirWrite : kDirRead) && p.size == sz &&
                       p.value == value,
                   "direction, size or value changed");
      }
    } else {
      FUZZ_CHECK(got == Cf8CfcOutcome::kNotConfigPort, "port 0x%llx claimed",
                 (unsigned long long)port);
      FUZZ_CHECK(req.type == kTypePortIo && req.reqs.pio_request.value == value,
                 "a non-config access was changed");
    }
    FUZZ_CHECK(latch == model, "latch 0x%x, model 0x%x", latch, model);
  }
  return 0;
}
