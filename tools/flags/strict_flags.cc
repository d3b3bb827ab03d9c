#include "tools/flags/strict_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace tools {
namespace {

std::string g_program = "ioreq";

std::string HelpText(absl::string_view usage) {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    // Abseil's and libraries' own flags are not this program's interface.
    if (absl::StrContains(flag->Filename(), "absl/")) continue;
    flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
              return a->Name() < b->Name();
            });
  std::string text = absl::StrCat(usage, "\n\nFlags:\n");
  for (const absl::CommandLineFlag* f : flags) {
    absl::StrAppendFormat(&text, "  --%s  %s\n      (default: %s)\n",
                          f->Name(), f->Help(), f->DefaultValue());
  }
  absl::StrAppend(&text,
                  "\nExit codes: 0 all good, 1 the run found a problem, "
                  "2 bad flag or input.\n");
  return text;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseFlags(int argc,
                                                    const char* const* argv,
                                                    absl::string_view usage) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (name == "help" || name == "helpfull" || name == "h") {
      return absl::CancelledError(HelpText(usage));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && !has_value) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        value = "false";
        has_value = true;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag --%s (see --help)", name));
    }
    std::string owned;
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        owned = argv[++i];
        value = owned;
      } else {
        return absl::InvalidArgumentError(
            absl::StrFormat("--%s: missing value", name));
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--%s=%s: %s", flag->Name(), value,
          error.empty() ? "malformed value" : error));
    }
  }
  return positional;
}

std::vector<std::string> ParseFlagsOrExit(int argc, char** argv,
                                          absl::string_view usage) {
  if (argc > 0) {
    absl::string_view path = argv[0];
    if (size_t slash = path.rfind('/'); slash != absl::string_view::npos) {
      path.remove_prefix(slash + 1);
    }
    g_program = std::string(path);
  }
  absl::StatusOr<std::vector<std::string>> parsed =
      ParseFlags(argc, argv, usage);
  if (parsed.ok()) return *std::move(parsed);
  if (parsed.status().code() == absl::StatusCode::kCancelled) {
    std::fputs(std::string(parsed.status().message()).c_str(), stdout);
    std::exit(kExitOk);
  }
  std::fprintf(stderr, "%s: %s\n", g_program.c_str(),
               std::string(parsed.status().message()).c_str());
  std::exit(kExitUsage);
}

void FlagErrorMessage(absl::string_view flag, absl::string_view value,
                      absl::string_view accepts) {
  std::fprintf(stderr, "%s: --%s=%s: accepts %s\n", g_program.c_str(),
               std::string(flag).c_str(), std::string(value).c_str(),
               std::string(accepts).c_str());
  std::exit(kExitUsage);
}

}  // namespace tools
