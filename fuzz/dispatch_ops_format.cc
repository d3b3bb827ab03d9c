#include "fuzz/dispatch_ops_format.h"


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
    h.check_range_index = (data[1] & 4) == 0;
  }
  return h;
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

}  // namespace dispatch_ops
}  // namespace ioreq
