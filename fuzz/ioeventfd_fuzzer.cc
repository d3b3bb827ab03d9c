// ioeventfd: assign, deassign and write streams against SPEC section 6,
// restated as a small reference list; every write's effect on three real
// eventfds is compared with the reference's.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/abi/abi.h"
#include "core/hsm/ioeventfd.h"
#include "core/abi/slot_decode.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

constexpr int kFds = 3;
int g_fds[kFds];

struct Ref {
  uint32_t fd;
  uint32_t type;
  uint64_t addr;
  uint32_t len;
  uint64_t data;
  bool wildcard;
};

uint64_t Drain(int fd) {
  uint64_t v = 0;
  return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (int& fd : g_fds) fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  for (int fd : g_fds) Drain(fd);
  IoeventfdTable table;
  std::vector<Ref> ref;
  while (in.remaining_bytes() > 0) {
    const int op = in.ConsumeIntegralInRange<int>(0, 2);
    if (op == 0) {  // assign
      IoeventfdArgs a{};
      const int which = in.ConsumeIntegralInRange<int>(0, kFds);  // kFds: a bad fd
      a.fd = which < kFds ? static_cast<uint32_t>(g_fds[which]) : 0;  // 0: stdin
      a.flags = in.ConsumeIntegralInRange<uint32_t>(0, 3);
      a.addr = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0x100, 0x110)
                                : in.ConsumeIntegral<uint64_t>();
      a.len = in.ConsumeIntegralInRange<uint32_t>(0, 9);
      a.reserved = in.ConsumeIntegralInRange<uint32_t>(0, 12) == 0 ? 1 : 0;
      a.data = in.ConsumeIntegralInRange<uint64_t>(0, 3);
      const bool len_ok = a.len == 1 || a.len == 2 || a.len == 4 || a.len == 8;
      const bool valid = which < kFds && a.reserved == 0 && len_ok &&
                         a.addr + a.len >= a.addr;
      Ref r{a.fd, (a.flags & kIoeventfdFlagPio) ? kTypePortIo : kTypeMmio, a.addr,
            a.len, a.data, (a.flags & kIoeventfdFlagDatamatch) == 0};
      bool conflict = false;
      for (const Ref& p : ref) {
        conflict |= p.fd == r.fd && p.addr == r.addr && p.type == r.type &&
                    (p.wildcard || r.wildcard || p.data == r.data);
      }
      absl::StatusOr<IoRange> got = table.Assign(a);
      if (!valid) {
        FUZZ_CHECK(got.status().code() == absl::StatusCode::kInvalidArgument,
                   "bad arguments accepted: %s", got.status().ToString().c_str());
      } else if (conflict) {
        FUZZ_CHECK(got.status().code() == absl::StatusCode::kAlreadyExists,
                   "conflict not reported: %s", got.status().ToString().c_str());
      } else {
        FUZZ_CHECK(got.ok(), "valid assign refused: %s", got.status().ToString().c_str());
        FUZZ_CHECK(got->type == r.type && got->start == r.addr &&
                       got->end == r.addr + r.len - 1,
                   "wrong range");
        ref.push_back(r);
      }
    } else if (op == 1) {  // deassign by fd
      IoeventfdArgs a{};
      a.fd = static_cast<uint32_t>(g_fds[in.ConsumeIntegralInRange<int>(0, kFds - 1)]);
      a.flags = kIoeventfdFlagDeassign;
      absl::StatusOr<IoRange> got = table.Deassign(a);
      auto it = ref.begin();
      while (it != ref.end() && it->fd != a.fd) ++it;
      FUZZ_CHECK(got.ok() == (it != ref.end()), "deassign disagrees");
      if (it != ref.end()) ref.erase(it);
    } else {  // an access routed to the ioeventfd client
      const bool pio = in.ConsumeBool();
      const bool write = in.ConsumeBool();
      const uint64_t addr = in.ConsumeIntegralInRange<uint64_t>(0x100, 0x110);
      const uint64_t sz = uint64_t{1} << in.ConsumeIntegralInRange<int>(0, 3);
      const uint64_t value = in.ConsumeIntegralInRange<uint64_t>(0, 3);
      IoRequest req;
      std::memset(static_cast<void*>(&req), 0, sizeof(req));
      IoAccess acc;
      acc.type = pio ? kTypePortIo : kTypeMmio;
      acc.direction = write ? kDirWrite : kDirRead;
      acc.address = addr;
      acc.size = sz;
      acc.value = value;
      EncodeAccess(acc, req);
      IoAccess handed = DecodeAccess(req);  // what the HSM hands a handler
      FUZZ_CHECK(table.Handle(handed).ok(), "handler failed");
      int expect = -1;
      if (write) {
        for (const Ref& p : ref) {
          if (p.type == acc.type && p.addr == addr && p.len >= sz &&
              (p.wildcard || p.data == (pio ? static_cast<uint32_t>(value) : value))) {
            expect = static_cast<int>(p.fd);
            break;
          }
        }
      } else {
        FUZZ_CHECK(handed.value == 0, "a read did not complete with 0");
      }
      for (int fd : g_fds) {
        const uint64_t signalled = Drain(fd);
        FUZZ_CHECK(signalled == (fd == expect ? 1u : 0u),
                   "fd %d signalled %llu times, expected %d", fd,
                   (unsigned long long)signalled, fd == expect);
      }
    }
  }
  return 0;
}
