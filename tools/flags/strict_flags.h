// tools/flags/strict_flags.h: Abseil flags with the project's exit codes.
//
// absl::ParseCommandLine() exits 1 on an unknown flag or a malformed value,
// and 1 after --help. Here exit codes mean one thing each: 0 all good, 1 the
// run found a problem, 2 the user asked wrongly. ParseFlagsOrExit() parses
// argv against the registered Abseil flags itself, through the public
// absl::CommandLineFlag::ParseFrom(), so that:
//   - an unknown flag, a missing value or a malformed value prints one line
//     naming the flag and exits 2;
//   - --help prints every flag of this program (not Abseil's own) and exits 0.
// Range checks stay with the program, which knows what each flag accepts
// (see FlagError()).
//
// Example:
//   ABSL_FLAG(int, vcpus, 2, "vCPUs per VM, 1 to 16");
//   int main(int argc, char** argv) {
//     std::vector<std::string> args = tools::ParseFlagsOrExit(argc, argv,
//         "stress: drive the I/O request path");
//     int vcpus = absl::GetFlag(FLAGS_vcpus);
//     if (vcpus < 1 || vcpus > 16) tools::FlagError("vcpus", vcpus, "1 to 16");
//   }
#ifndef IOREQ_TOOLS_FLAGS_STRICT_FLAGS_H_
#define IOREQ_TOOLS_FLAGS_STRICT_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;

// Parses argv[1..] into the registered flags; returns the positional
// arguments. An error names the flag and what went wrong. "--help" (and
// "--helpfull") yield a Status of kCancelled carrying the help text.
absl::StatusOr<std::vector<std::string>> ParseFlags(int argc,
                                                    const char* const* argv,
                                                    absl::string_view usage);

// ParseFlags(), printing errors (exit 2) and help (exit 0) itself.
std::vector<std::string> ParseFlagsOrExit(int argc, char** argv,
                                          absl::string_view usage);

// Prints "PROGRAM: --flag=VALUE: accepts WHAT" and exits 2.
[[noreturn]] void FlagErrorMessage(absl::string_view flag,
                                   absl::string_view value,
                                   absl::string_view accepts);
template <typename T>
[[noreturn]] void FlagError(absl::string_view flag, const T& value,
                            absl::string_view accepts) {
  FlagErrorMessage(flag, absl::StrCat(value), accepts);
}

}  // namespace tools

#endif  // IOREQ_TOOLS_FLAGS_STRICT_FLAGS_H_
