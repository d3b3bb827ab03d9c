#include "fuzz/record_stream.h"

#include <cstring>
#include <random>

namespace ioreq {
namespace fuzz {

size_t MutateRecords(const RecordStream& s, uint8_t* data, size_t size,
                     size_t max_size, unsigned int seed, ByteMutator mutate) {
  std::minstd_rand rng(seed);
  const size_t max_records = s.Count(max_size);
  if (max_records == 0) return std::min(size, max_size);
  if (size < s.header_size) {  // an empty input grows a header
    std::memset(data + size, 0, s.header_size - size);
    size = s.header_size;
  }
  const size_t w = s.record_size;
  size_t n = s.Count(size);
  auto random_record = [&](uint8_t* r) {
    for (size_t i = 0; i < w; ++i) r[i] = static_cast<uint8_t>(rng());
  };
  switch (n == 0 ? 0 : rng() % 8) {
    case 0:
    case 1:
    case 2:
    case 3: {  // one record (or the header) changed in place
      if (n == 0 || (s.header_size > 0 && rng() % 16 == 0)) {
        if (s.header_size > 0) {
          data[rng() % s.header_size] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        if (n == 0) {  // and a first record
          random_record(s.At(data, 0));
          n = 1;
        }
        break;
      }
      uint8_t* r = s.At(data, rng() % n);
      if (mutate != nullptr) {
        uint8_t copy[RecordStream::kMaxRecordSize];
        std::memcpy(copy, r, w);
        const size_t got = mutate(copy, w, w);
        std::memcpy(r, copy, std::min(got, w));
      } else {
        r[rng() % w] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      break;
    }
    case 4:
    case 5: {  // insert a record: new, or a copy of one (ops repeat)
      if (n >= max_records) break;
      const size_t at = rng() % (n + 1);
      std::memmove(s.At(data, at + 1), s.At(data, at), (n - at) * w);
      if (n > 0 && rng() % 2) {
        const size_t from = rng() % (n + 1);
        std::memcpy(s.At(data, at), s.At(data, from == at ? (at + 1) % (n + 1) : from), w);
      } else {
        random_record(s.At(data, at));
      }
      ++n;
      break;
    }
    case 6: {  // erase one
      const size_t at = rng() % n;
      std::memmove(s.At(data, at), s.At(data, at + 1), (n - at - 1) * w);
      --n;
      break;
    }
    default: {  // swap two
      const size_t i = rng() % n;
      const size_t j = rng() % n;
      uint8_t tmp[RecordStream::kMaxRecordSize];
      std::memcpy(tmp, s.At(data, i), w);
      std::memcpy(s.At(data, i), s.At(data, j), w);
      std::memcpy(s.At(data, j), tmp, w);
      break;
    }
  }
  n = std::min(n, max_records);
  return s.header_size + n * w;
}

size_t CrossOverRecords(const RecordStream& s, const uint8_t* a, size_t a_size,
                        const uint8_t* b, size_t b_size, uint8_t* out,
                        size_t max_out, unsigned int seed) {
  if (max_out < s.header_size || a_size < s.header_size) return 0;
  std::minstd_rand rng(seed);
  const size_t na = s.Count(a_size);
  const size_t nb = s.Count(b_size);
  const size_t max_records = s.Count(max_out);
  const size_t cut_a = na == 0 ? 0 : rng() % (na + 1);
  const size_t from_b = nb == 0 ? 0 : rng() % (nb + 1);
  std::memcpy(out, a, s.header_size);
  size_t n = 0;
  for (size_t i = 0; i < cut_a && n < max_records; ++i, ++n) {
    std::memcpy(s.At(out, n), s.At(a, i), s.record_size);
  }
  for (size_t i = from_b; i < nb && n < max_records; ++i, ++n) {
    std::memcpy(s.At(out, n), s.At(b, i), s.record_size);
  }
  return s.header_size + n * s.record_size;
}

}  // namespace fuzz
}  // namespace ioreq
