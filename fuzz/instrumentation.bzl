"""What coverage instrumentation sees under --config=fuzz.

libFuzzer's cost per input grows with the features an input touches (its
bookkeeping of every edge and every traced comparison), so the fuzzed code
is instrumented and what is not the model is not:

ORACLE_COPTS       for an oracle or a reference (the shadow model, the
                   lockstep, the kernel's linear scan of ranges): no coverage
                   instrumentation at all. Their loops and comparisons are not
                   the model's behaviour, and as features they cost more than
                   the model itself. AddressSanitizer and UBSan stay.
LIBRARY_INTERNALS  copts, data and deps for a library of the model or a fuzz
                   target: the functions of Abseil and the C++ standard
                   library that the compile instantiates (btree nodes, vector
                   growth, optional) are left out of coverage by
                   fuzz/coverage_ignorelist.inc; the model's own functions,
                   and what the compiler inlines into them, stay instrumented.

model_cc_library() is cc_library() with LIBRARY_INTERNALS: every library of
the model (core/) is declared with it, and every fuzz target (fuzz.bzl).

Elsewhere (gcc, the sanitizer configs) neither changes anything. Example:

    load("//fuzz:instrumentation.bzl", "model_cc_library")
    model_cc_library(
        name = "range_index",
        srcs = ["range_index.cc"],
        hdrs = ["range_index.h"],
        deps = [...],
    )
"""

ORACLE_COPTS = select({
    "//fuzz:libfuzzer": [
        "-fno-sanitize-coverage=inline-8bit-counters,indirect-calls,trace-cmp,pc-table",
    ],
    "//conditions:default": [],
})

LIBRARY_INTERNALS = struct(
    copts = select({
        "//fuzz:libfuzzer": [
            "-fsanitize-coverage-ignorelist=$(location //fuzz:coverage_ignorelist.inc)",
        ],
        "//conditions:default": [],
    }),
    # The list is a compile input through the header-only library; data
    # lets $(location) name it.
    data = ["//fuzz:coverage_ignorelist.inc"],
    deps = ["//fuzz:coverage_ignorelist"],
)

def model_cc_library(name, copts = [], data = [], deps = [], **kwargs):
    """cc_library() whose library internals are not instrumented under
    --config=fuzz (LIBRARY_INTERNALS)."""
    native.cc_library(
        name = name,
        copts = copts + LIBRARY_INTERNALS.copts,
        data = data + LIBRARY_INTERNALS.data,
        deps = deps + LIBRARY_INTERNALS.deps,
        **kwargs
    )
