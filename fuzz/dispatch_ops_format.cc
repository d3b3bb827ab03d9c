#include "fuzz/dispatch_ops_format.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace ioreq {
namespace dispatch_ops {
namespace {

uint32_t U16(const uint8_t* p) { return p[0] | (uint32_t{p[1]} << 8); }
uint32_t U32(const uint8_t* p) {
  return U16(p) | (U16(p + 2) << 16);
}

// Records hold the accesses a guest makes: MMIO around 0x1000, ports around
// the UART (0x3f0..0x43f) and the configuration ports, raw PCICFG anywhere
// in the 4 KiB space (so some run past its end).
IoAccess DecodeAccess(const uint8_t* r) {
  const uint64_t size = uint64_t{1} << (r[5] % 3);  // 1, 2, 4
  const bool write = r[6] & 1;
  switch (r[2] % 6) {
    case 0:
    case 1: {
      const uint64_t addr = 0x1000 + U16(r + 3) % 0x300;
      const uint64_t mmio_size = uint64_t{1} << (r[5] % 4);  // 1..8
      return r[2] % 6 == 0 ? MmioRead(addr, mmio_size)
                           : MmioWrite(addr, mmio_size, U32(r + 3) ^ r[6]);
    }
    case 2: {
      const uint64_t port = 0x3f0 + r[3] % 0x50;
      return write ? PortWrite(port, size, r[4]) : PortRead(port, size);
    }
    case 3:  // 0xCF8: usually a 4-byte write of any latch value
      return (r[1] & 0x80) ? PortRead(0xCF8, 4)
                           : PortWrite(0xCF8, 4, U32(r + 3));
    case 4: {
      const uint64_t port = 0xCFC + r[3] % 4;
      return write ? PortWrite(port, size, r[4]) : PortRead(port, size);
    }
    default: {
      IoAccess a;
      a.type = kTypePciCfg;
      a.direction = write ? kDirWrite : kDirRead;
      a.address = U16(r + 3) % 0x1000;
      a.size = size;
      a.value = write ? r[4] : 0;
      a.bus = r[6] >> 1;
      a.dev = (r[4] >> 3) & 0x1f;
      a.func = r[4] & 7;
      return a;
    }
  }
}

IoRange DecodeRange(const uint8_t* r) {
  IoRange range;
  range.type = (r[2] & 1) ? kTypePortIo : kTypeMmio;
  if (range.type == kTypePortIo) {
    range.start = (r[2] & 2) ? 0xcf0 + r[3] % 0x20 : 0x3f0 + r[3] % 0x50;
  } else {
    range.start = 0x1000 + U16(r + 3) % 0x300;
  }
  const uint64_t length = r[5] % 0x41;  // 0: end before start, refused
  range.end = range.start + length - 1;
  return range;
}

}  // namespace

const char* OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kInsert: return "insert";
    case OpKind::kGarbage: return "garbage";
    case OpKind::kDispatch: return "dispatch";
    case OpKind::kServeClient: return "serve client";
    case OpKind::kServeDefault: return "serve default";
    case OpKind::kNotifyFinish: return "notify finish";
    case OpKind::kAddRange: return "add range";
    case OpKind::kDelRange: return "delete range";
    case OpKind::kCreateClient: return "create client";
    case OpKind::kDestroyClient: return "destroy client";
    case OpKind::kClear: return "clear";
    case OpKind::kPause: return "pause";
    case OpKind::kResume: return "resume";
    case OpKind::kTake: return "take";
    case OpKind::kReset: return "reset";
  }
  return "?";
}

Header DecodeHeader(const uint8_t* data, size_t size) {
  Header h;
  if (size >= 1) h.vcpus = 1 + (data[0] & 0x0f);
  if (size >= 2) {
    h.topology = (data[1] & 1) ? Topology::kDirect : Topology::kKernel;
    h.profile = (data[1] & 2) ? Profile::kAcrn : Profile::kHardened;
  }
  return h;
}

size_t RecordCount(size_t size) {
  if (size < kHeaderSize) return 0;
  return std::min((size - kHeaderSize) / kRecordSize, kMaxRecords);
}

Op DecodeRecord(const uint8_t* r) {
  Op op;
  op.vcpu = r[1];
  op.index = r[1];
  switch (r[0] & 0x0f) {
    case 0:
    case 1:
      op.kind = OpKind::kInsert;
      op.access = DecodeAccess(r);
      op.polling = r[2] & 0x80;
      break;
    case 2:
      op.kind = OpKind::kGarbage;
      op.offset = r[2];
      op.bytes.assign(reinterpret_cast<const char*>(r + 4), 1 + r[3] % 4);
      break;
    case 3:
    case 4: op.kind = OpKind::kDispatch; break;
    case 5: op.kind = OpKind::kServeClient; break;
    case 6: op.kind = OpKind::kServeDefault; break;
    case 7:
      op.kind = OpKind::kNotifyFinish;
      // Near the vCPU range, or any u32 (the kernel narrows it to u16).
      op.vcpu = (r[1] & 0x80) ? U32(r + 2) : r[1] % 20;
      break;
    case 8:
      op.kind = OpKind::kAddRange;
      op.range = DecodeRange(r);
      break;
    case 9:
      op.kind = OpKind::kDelRange;
      op.range_index = r[2];
      break;
    case 10:
      op.kind = OpKind::kCreateClient;
      op.is_default = r[1] & 0x80;
      break;
    case 11:
      op.kind = OpKind::kDestroyClient;
      op.is_default = r[2] & 1;
      break;
    case 12: op.kind = OpKind::kClear; break;
    case 13: op.kind = (r[1] & 1) ? OpKind::kResume : OpKind::kPause; break;
    case 14: op.kind = OpKind::kTake; break;
    default: op.kind = OpKind::kReset; break;
  }
  return op;
}

// --- Mutation --------------------------------------------------------------------

size_t MutateRecords(uint8_t* data, size_t size, size_t max_size,
                     unsigned int seed, ByteMutator mutate) {
  std::minstd_rand rng(seed);
  const size_t max_records =
      max_size < kHeaderSize
          ? 0
          : std::min((max_size - kHeaderSize) / kRecordSize, kMaxRecords);
  if (max_records == 0) return std::min(size, max_size);
  if (size < kHeaderSize) {  // an empty input grows a header
    std::memset(data + size, 0, kHeaderSize - size);
    size = kHeaderSize;
  }
  size_t n = RecordCount(size);
  uint8_t* records = data + kHeaderSize;
  auto random_record = [&](uint8_t* r) {
    for (size_t i = 0; i < kRecordSize; ++i) r[i] = static_cast<uint8_t>(rng());
  };
  switch (n == 0 ? 2 : rng() % 8) {
    case 0:
    case 1:
    case 2:
    case 3: {  // one record (or the header), by libFuzzer's byte mutator
      if (n == 0 || rng() % 16 == 0) {
        data[rng() % kHeaderSize] ^= static_cast<uint8_t>(1u << (rng() % 8));
        if (n == 0) {  // and a first record
          random_record(records);
          n = 1;
        }
        break;
      }
      uint8_t* r = records + (rng() % n) * kRecordSize;
      if (mutate != nullptr) {
        uint8_t copy[kRecordSize];
        std::memcpy(copy, r, kRecordSize);
        const size_t got = mutate(copy, kRecordSize, kRecordSize);
        std::memcpy(r, copy, std::min(got, kRecordSize));
      } else {
        r[rng() % kRecordSize] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      break;
    }
    case 4:
    case 5: {  // insert a record: new, or a copy of one (ops repeat)
      if (n >= max_records) break;
      const size_t at = rng() % (n + 1);
      std::memmove(records + (at + 1) * kRecordSize, records + at * kRecordSize,
                   (n - at) * kRecordSize);
      if (n > 0 && rng() % 2) {
        const size_t from = rng() % (n + 1);
        std::memcpy(records + at * kRecordSize,
                    records + (from == at ? (at + 1) % (n + 1) : from) * kRecordSize,
                    kRecordSize);
      } else {
        random_record(records + at * kRecordSize);
      }
      ++n;
      break;
    }
    case 6: {  // erase one
      const size_t at = rng() % n;
      std::memmove(records + at * kRecordSize, records + (at + 1) * kRecordSize,
                   (n - at - 1) * kRecordSize);
      --n;
      break;
    }
    default: {  // swap two
      const size_t i = rng() % n;
      const size_t j = rng() % n;
      uint8_t tmp[kRecordSize];
      std::memcpy(tmp, records + i * kRecordSize, kRecordSize);
      std::memcpy(records + i * kRecordSize, records + j * kRecordSize,
                  kRecordSize);
      std::memcpy(records + j * kRecordSize, tmp, kRecordSize);
      break;
    }
  }
  n = std::min(n, max_records);
  return kHeaderSize + n * kRecordSize;
}

size_t CrossOverRecords(const uint8_t* a, size_t a_size, const uint8_t* b,
                        size_t b_size, uint8_t* out, size_t max_out,
                        unsigned int seed) {
  if (max_out < kHeaderSize || a_size < kHeaderSize) return 0;
  std::minstd_rand rng(seed);
  const size_t na = RecordCount(a_size);
  const size_t nb = RecordCount(b_size);
  const size_t max_records =
      std::min((max_out - kHeaderSize) / kRecordSize, kMaxRecords);
  const size_t cut_a = na == 0 ? 0 : rng() % (na + 1);
  const size_t from_b = nb == 0 ? 0 : rng() % (nb + 1);
  std::memcpy(out, a, kHeaderSize);
  size_t n = 0;
  for (size_t i = 0; i < cut_a && n < max_records; ++i, ++n) {
    std::memcpy(out + kHeaderSize + n * kRecordSize, RecordAt(a, i),
                kRecordSize);
  }
  for (size_t i = from_b; i < nb && n < max_records; ++i, ++n) {
    std::memcpy(out + kHeaderSize + n * kRecordSize, RecordAt(b, i),
                kRecordSize);
  }
  return kHeaderSize + n * kRecordSize;
}

}  // namespace dispatch_ops
}  // namespace ioreq
