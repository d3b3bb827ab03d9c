// fuzz/fuzz_check.h: the oracle's assertion for fuzz targets.
//
// FUZZ_CHECK(cond, fmt, ...) prints what broke, with the input's step, and
// aborts, which libFuzzer records as a crash and the regression driver as a
// failed test. Unlike assert() it stays on in optimised builds.
#ifndef IOREQ_FUZZ_FUZZ_CHECK_H_
#define IOREQ_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                        \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ",     \
                   __FILE__, __LINE__, #cond);                       \
      std::fprintf(stderr, __VA_ARGS__);                             \
      std::fputc('\n', stderr);                                      \
      std::abort();                                                  \
    }                                                                \
  } while (0)

#endif  // IOREQ_FUZZ_FUZZ_CHECK_H_
