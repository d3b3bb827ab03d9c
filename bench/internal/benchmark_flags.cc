#include "bench/internal/benchmark_flags.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace bench {
namespace {

enum class Kind {
  kBool, kRegex, kSeconds, kSecondsOrZero, kRepetitions, kFormat, kOutPath,
  kColor, kTimeUnit, kContext, kVerbosity, kAnyString,
};

struct FlagSpec {
  const char* name;
  Kind kind;
};

constexpr FlagSpec kFlags[] = {
    {"benchmark_list_tests", Kind::kBool},
    {"benchmark_filter", Kind::kRegex},
    {"benchmark_min_time", Kind::kSeconds},
    {"benchmark_min_warmup_time", Kind::kSecondsOrZero},
    {"benchmark_repetitions", Kind::kRepetitions},
    {"benchmark_enable_random_interleaving", Kind::kBool},
    {"benchmark_report_aggregates_only", Kind::kBool},
    {"benchmark_display_aggregates_only", Kind::kBool},
    {"benchmark_format", Kind::kFormat},
    {"benchmark_out_format", Kind::kFormat},
    {"benchmark_out", Kind::kOutPath},
    {"benchmark_color", Kind::kColor},
    {"benchmark_counters_tabular", Kind::kBool},
    {"benchmark_perf_counters", Kind::kAnyString},
    {"benchmark_context", Kind::kContext},
    {"benchmark_time_unit", Kind::kTimeUnit},
    {"v", Kind::kVerbosity},
};

bool OneOf(absl::string_view value, std::initializer_list<absl::string_view> set) {
  const std::string lower = absl::AsciiStrToLower(value);
  return std::find(set.begin(), set.end(), lower) != set.end();
}

// What a flag accepts, or "" when `value` is fine.
std::string Check(Kind kind, absl::string_view value, bool has_value) {
  switch (kind) {
    case Kind::kBool:
      if (!has_value || OneOf(value, {"true", "false", "yes", "no", "on",
                                      "off", "1", "0"})) {
        return "";
      }
      return "true or false";
    case Kind::kColor:
      if (OneOf(value, {"auto", "true", "false", "yes", "no", "on", "off",
                        "1", "0"})) {
        return "";
      }
      return "auto, true or false";
    case Kind::kRegex: {
      // A leading '-' negates the filter; the rest is an extended regular
      // expression, as the library compiles it.
      absl::string_view re = value;
      if (!re.empty() && re[0] == '-') re.remove_prefix(1);
      try {
        std::regex(std::string(re), std::regex::extended | std::regex::nosubs);
      } catch (const std::regex_error&) {
        return "an extended regular expression (optionally after '-')";
      }
      return "";
    }
    case Kind::kSeconds:
    case Kind::kSecondsOrZero: {
      double s = 0;
      const bool zero_ok = kind == Kind::kSecondsOrZero;
      if (absl::SimpleAtod(value, &s) && std::isfinite(s) &&
          (zero_ok ? s >= 0 : s > 0) && s <= 86400) {
        return "";
      }
      return zero_ok ? "seconds, 0 to 86400" : "seconds, more than 0, at most 86400";
    }
    case Kind::kRepetitions: {
      int n = 0;
      if (absl::SimpleAtoi(value, &n) && n >= 1 && n <= 10000) return "";
      return "a count of 1 to 10000";
    }
    case Kind::kVerbosity: {
      int n = 0;
      if (absl::SimpleAtoi(value, &n) && n >= 0 && n <= 10) return "";
      return "a level of 0 to 10";
    }
    case Kind::kFormat:
      if (OneOf(value, {"console", "json", "csv"})) return "";
      return "console, json or csv";
    case Kind::kTimeUnit:
      if (value == "ns" || value == "us" || value == "ms" || value == "s") {
        return "";
      }
      return "ns, us, ms or s";
    case Kind::kContext:
      for (absl::string_view pair : absl::StrSplit(value, ',')) {
        const size_t eq = pair.find('=');
        if (eq == absl::string_view::npos || eq == 0) {
          return "key=value pairs separated by commas";
        }
      }
      return "";
    case Kind::kOutPath: {
      if (value.empty()) return "a file path it can write";
      const std::string path(value);
      const bool existed = access(path.c_str(), F_OK) == 0;
      FILE* f = std::fopen(path.c_str(), "a");
      if (f == nullptr) return "a file path it can write";
      std::fclose(f);
      if (!existed) std::remove(path.c_str());
      return "";
    }
    case Kind::kAnyString:
      return "";
  }
  return "";
}

}  // namespace

absl::Status ValidateBenchmarkArgs(const std::vector<std::string>& args,
                                   const std::vector<std::string>& own_flags) {
  for (const std::string& arg : args) {
    if (std::find(own_flags.begin(), own_flags.end(), arg) != own_flags.end()) {
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (see --help)"));
    }
    const size_t eq = arg.find('=');
    const std::string name =
        arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const bool has_value = eq != std::string::npos;
    const absl::string_view value =
        has_value ? absl::string_view(arg).substr(eq + 1) : absl::string_view();
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : kFlags) {
      if (name == f.name) spec = &f;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' (see --help)"));
    }
    if (!has_value && spec->kind != Kind::kBool) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value (--", name, "=...)"));
    }
    const std::string accepts = Check(spec->kind, value, has_value);
    if (!accepts.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(arg, ": accepts ", accepts));
    }
  }
  return absl::OkStatus();
}

}  // namespace bench
