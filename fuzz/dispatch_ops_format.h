// fuzz/dispatch_ops_format.h: the dispatch_ops input, and mutations that
// keep its shape.
//
// An input is a 2-byte header and fixed 8-byte records, one operation each:
//
//   header  byte 0: vCPUs - 1 (low 4 bits)
//           byte 1: bit 0 topology (0 kernel, 1 direct),
//                   bit 1 profile (0 hardened, 1 acrn),
//                   bit 2 routing (0 every route looked up and checked
//                   against the kernel's list, 1 as in production: the
//                   route memo without the lock where it answers)
//   record  byte 0: the operation (low 4 bits, OpKind's table below)
//           bytes 1..7: its arguments, each read from fixed bytes
//
// A byte flip changes one operation's argument; a record inserted or
// erased moves whole operations. It is a RecordStream (fuzz/record_stream.h),
// whose mutator works on those units, so the stream's later operations
// survive a mutation. Trailing bytes short of a record are ignored; at most
// kMaxRecords run.
//
// Example (fuzz/generate_seeds.py writes the same bytes):
//   Header h = DecodeHeader(data, size);
//   for (size_t i = 0; i < RecordCount(size); ++i) {
//     Op op = DecodeRecord(RecordAt(data, i));
//     ...
//   }
#ifndef IOREQ_FUZZ_DISPATCH_OPS_FORMAT_H_
#define IOREQ_FUZZ_DISPATCH_OPS_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/abi/slot_decode.h"
#include "core/hsm/hsm_options.h"
#include "core/hsm/range_index.h"
#include "core/profile/profile.h"
#include "fuzz/record_stream.h"

namespace ioreq {
namespace dispatch_ops {

inline constexpr size_t kHeaderSize = 2;
inline constexpr size_t kRecordSize = 8;
inline constexpr size_t kMaxRecords = 256;
inline constexpr fuzz::RecordStream kStream{kHeaderSize, kRecordSize,
                                            kMaxRecords};

struct Header {
  uint32_t vcpus = 1;
  Topology topology = Topology::kKernel;
  Profile profile = Profile::kHardened;
  bool check_range_index = true;
};

// Opcode (record byte 0, low 4 bits) -> operation; inserts and dispatch
// passes have two codes each, as they are what the others need.
enum class OpKind : uint8_t {
  kInsert,        // 0, 1
  kGarbage,       // 2
  kDispatch,      // 3, 4
  kServeClient,   // 5
  kServeDefault,  // 6
  kNotifyFinish,  // 7
  kAddRange,      // 8
  kDelRange,      // 9
  kCreateClient,  // 10
  kDestroyClient, // 11
  kClear,         // 12
  kPause,         // 13, bit 0 of byte 1 clear
  kResume,        // 13, bit 0 of byte 1 set
  kTake,          // 14
  kReset,         // 15
};
const char* OpName(OpKind kind);

struct Op {
  OpKind kind = OpKind::kDispatch;
  uint32_t vcpu = 0;        // insert, garbage, take (mod vCPUs); finish (any)
  IoAccess access;          // insert
  bool polling = false;     // insert
  size_t offset = 0;        // garbage: byte of the slot
  std::string bytes;        // garbage: 1..4 bytes
  size_t index = 0;         // which client (mod their number)
  size_t range_index = 0;   // delete: which of its ranges
  IoRange range{kTypePortIo, 0, 0};  // add
  bool is_default = false;  // create, destroy
};

Header DecodeHeader(const uint8_t* data, size_t size);
inline size_t RecordCount(size_t size) { return kStream.Count(size); }
inline const uint8_t* RecordAt(const uint8_t* data, size_t i) {
  return kStream.At(data, i);
}
Op DecodeRecord(const uint8_t* record);

}  // namespace dispatch_ops
}  // namespace ioreq

#endif  // IOREQ_FUZZ_DISPATCH_OPS_FORMAT_H_
