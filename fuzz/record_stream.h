// fuzz/record_stream.h: fuzz inputs made of a short header and fixed-size
// records, one operation each, and the mutations that keep that shape.
//
// An op-stream target reads its input as
//
//   [header: header_size bytes][record 0][record 1]...[record n-1]
//
// with every record record_size bytes and each argument read from fixed
// bytes of its record. A byte flip then changes one operation's argument,
// and a record inserted or erased moves whole operations: the operations
// after a mutation survive it, which a stream parsed by FuzzedDataProvider
// (where one byte more shifts every later field) does not. Trailing bytes
// short of a record are ignored, and at most max_records run, so the work
// per input is bounded.
//
// The layout is data: each target states its own RecordStream and hands it
// to the one mutator and cross-over below.
//
// Example (a target with a 1-byte header and 16-byte records):
//   inline constexpr ioreq::fuzz::RecordStream kStream{1, 16, 64};
//   for (size_t i = 0; i < kStream.Count(size); ++i) {
//     const uint8_t* record = kStream.At(data, i);
//     ...
//   }
//   IOREQ_RECORD_STREAM_MUTATORS(kStream)  // libFuzzer's custom hooks
#ifndef IOREQ_FUZZ_RECORD_STREAM_H_
#define IOREQ_FUZZ_RECORD_STREAM_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ioreq {
namespace fuzz {

struct RecordStream {
  size_t header_size;
  size_t record_size;  // at most kMaxRecordSize
  size_t max_records;

  static constexpr size_t kMaxRecordSize = 64;

  // Whole records in an input of `size` bytes, up to max_records.
  constexpr size_t Count(size_t size) const {
    return size < header_size
               ? 0
               : std::min((size - header_size) / record_size, max_records);
  }
  const uint8_t* At(const uint8_t* data, size_t i) const {
    return data + header_size + i * record_size;
  }
  uint8_t* At(uint8_t* data, size_t i) const {
    return data + header_size + i * record_size;
  }
  // The longest input that runs whole: libFuzzer's -max_len for the target.
  constexpr size_t MaxSize() const {
    return header_size + max_records * record_size;
  }
};

// libFuzzer's LLVMFuzzerMutate(), or null outside libFuzzer.
using ByteMutator = size_t (*)(uint8_t* data, size_t size, size_t max_size);

// The custom mutator; returns the new size (the header and whole records).
// Half the time one record (or, rarely, the header) is changed in place by
// `mutate` (libFuzzer's own mutator, dictionary entries included) or by a
// bit flip when it is null; otherwise a record is inserted (new, or a copy
// of another: operations repeat), erased, or two are swapped.
size_t MutateRecords(const RecordStream& stream, uint8_t* data, size_t size,
                     size_t max_size, unsigned int seed, ByteMutator mutate);

// The custom cross-over: a's header, a's records up to a cut, then b's
// records from another cut.
size_t CrossOverRecords(const RecordStream& stream, const uint8_t* a,
                        size_t a_size, const uint8_t* b, size_t b_size,
                        uint8_t* out, size_t max_out, unsigned int seed);

}  // namespace fuzz
}  // namespace ioreq

// Defines libFuzzer's LLVMFuzzerCustomMutator and LLVMFuzzerCustomCrossOver
// for a target whose input is `stream`. LLVMFuzzerMutate is declared weak:
// the regression driver and AFL++'s driver do not define it.
#define IOREQ_RECORD_STREAM_MUTATORS(stream)                                  \
  extern "C" __attribute__((weak)) size_t LLVMFuzzerMutate(                   \
      uint8_t* data, size_t size, size_t max_size);                           \
  extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,       \
                                            size_t max_size,                  \
                                            unsigned int seed) {              \
    return ::ioreq::fuzz::MutateRecords((stream), data, size, max_size, seed, \
                                        &LLVMFuzzerMutate);                   \
  }                                                                           \
  extern "C" size_t LLVMFuzzerCustomCrossOver(                                \
      const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,       \
      uint8_t* out, size_t max_out, unsigned int seed) {                      \
    return ::ioreq::fuzz::CrossOverRecords((stream), a, a_size, b, b_size,    \
                                           out, max_out, seed);               \
  }

#endif  // IOREQ_FUZZ_RECORD_STREAM_H_
