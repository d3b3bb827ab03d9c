"""ioreq_fuzzer(): one fuzz target, three ways to build it.

For a target NAME (source fuzz/NAME_fuzzer.cc, seeds in corpus/NAME/):
  NAME_target            the LLVMFuzzerTestOneInput() library;
  NAME                   with --config=fuzz, a libFuzzer binary (clang,
                         -fsanitize=fuzzer); otherwise the regression driver
                         around the target, so `bazel build //...` works with
                         gcc;
  NAME_regression_test   a test that runs the target over every file of
                         corpus/NAME/ (crashes/ included), with any compiler.
"""

load("//fuzz:instrumentation.bzl", "LIBRARY_INTERNALS")

def ioreq_fuzzer(name, deps = [], size = "small", tags = []):
    native.cc_library(
        name = name + "_target",
        srcs = [name + "_fuzzer.cc"],
        # Under --config=fuzz, library internals are not instrumented.
        copts = LIBRARY_INTERNALS.copts,
        data = LIBRARY_INTERNALS.data,
        deps = deps + LIBRARY_INTERNALS.deps + [":fuzz_check"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        deps = [":" + name + "_target"] + select({
            ":libfuzzer": [],
            "//conditions:default": [":regression_driver"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    native.cc_test(
        name = name + "_regression_test",
        size = size,
        deps = [
            ":" + name + "_target",
            ":regression_driver",
        ],
        data = ["//corpus:" + name],
        args = ["corpus/" + name],
        tags = tags,
    )
