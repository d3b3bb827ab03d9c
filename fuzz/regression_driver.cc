// fuzz/regression_driver.cc: runs a fuzz target over files, without
// libFuzzer.
//
// usage: TARGET_regression_test PATH...   (files, or folders walked
// recursively). Every file is one input to LLVMFuzzerTestOneInput(); a
// failing oracle aborts, which fails the test. Folders must hold at least
// one input: an empty corpus is an error (exit 2), not a pass. A path that
// is neither a file nor a folder (a device, a FIFO), an unreadable file or
// one larger than kMaxInputBytes is exit 2 too, with one line naming it.
// An empty file is a valid input (libFuzzer runs it as well).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

// Far above any input libFuzzer writes (its -max_len is 4096 by default):
// a larger file is not a corpus input, and reading it whole could exhaust
// memory.
constexpr uintmax_t kMaxInputBytes = 1 << 20;

bool RunFile(const std::filesystem::path& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(),
                 error.message().c_str());
    return false;
  }
  if (size > kMaxInputBytes) {
    std::fprintf(stderr, "%s: %ju bytes, larger than a corpus input may be "
                 "(%ju bytes)\n", path.c_str(), size, kMaxInputBytes);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root(argv[i]);
    std::error_code error;
    if (std::filesystem::is_regular_file(root, error)) {
      if (!RunFile(root)) return 2;
      ++ran;
      continue;
    }
    if (!std::filesystem::exists(root, error)) {
      std::fprintf(stderr, "%s: no such file or folder\n", argv[i]);
      return 2;
    }
    if (!std::filesystem::is_directory(root, error)) {
      std::fprintf(stderr, "%s: neither a file nor a folder\n", argv[i]);
      return 2;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(root, error)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    if (error) {
      std::fprintf(stderr, "cannot list %s: %s\n", argv[i],
                   error.message().c_str());
      return 2;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (!RunFile(f)) return 2;
      ++ran;
    }
  }
  if (ran == 0) {
    std::fprintf(stderr, "no inputs found: an empty corpus tests nothing\n");
    return 2;
  }
  std::printf("ran %zu inputs, all passed\n", ran);
  return 0;
}
