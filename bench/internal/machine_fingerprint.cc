#include "bench/internal/machine_fingerprint.h"

#include <cpuid.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/placement/placement.h"

namespace bench {
namespace {

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return "";
  return std::string(absl::StripAsciiWhitespace(line));
}

// The value of the first "key : value" line of /proc/cpuinfo or meminfo.
std::string Field(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return "";
}

// CPUID leaf 1 ECX bit 31: running under a hypervisor; leaf 0x40000000:
// its vendor signature.
std::string Hypervisor() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return "none";
  __cpuid(0x40000000, a, b, c, d);
  char vendor[13] = {0};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &c, 4);
  std::memcpy(vendor + 8, &d, 4);
  std::string v(vendor);
  if (v == "KVMKVMKVM") return "KVM";
  if (v == "Microsoft Hv") return "Hyper-V";
  if (v == "VMwareVMware") return "VMware";
  if (v == "XenVMMXenVMM") return "Xen";
  if (v == "TCGTCGTCGTCG") return "QEMU TCG";
  return v.empty() ? "unknown" : v;
}

std::string KvmModule(const std::string& root) {
  if (access(absl::StrCat(root, "dev/kvm").c_str(), F_OK) != 0) {
    return "none (/dev/kvm absent)";
  }
  for (const char* module : {"kvm_pvm", "kvm_intel", "kvm_amd"}) {
    if (access(absl::StrCat(root, "sys/module/", module).c_str(), F_OK) ==
        0) {
      return module;
    }
  }
  return "unknown";
}

// "N mitigated, N vulnerable, N not affected[, N unknown]" over the
// kernel's list. The kernel writes "Not affected", "Vulnerable[: ...]",
// "Processor vulnerable", "Mitigation: ...[; SMT vulnerable]" (mitigated,
// with a caveat), "Unknown: ..." (for example "Dependent on hypervisor
// status"), and prefixes some with "KVM: " (itlb_multihit). What it does
// not say is unknown, never counted as mitigated; the unknown count is
// left out when 0 so that a machine's fingerprint stays what it was.
std::string Mitigations(const std::string& root) {
  int mitigated = 0, vulnerable = 0, unaffected = 0, unknown = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat(root, "sys/devices/system/cpu/vulnerabilities"),
           ec)) {
    const std::string line = FirstLine(entry.path().string());
    absl::string_view state = line;
    absl::ConsumePrefix(&state, "KVM: ");
    if (absl::StartsWith(state, "Not affected")) {
      ++unaffected;
    } else if (absl::StartsWith(state, "Vulnerable") ||
               absl::StartsWith(state, "Processor vulnerable")) {
      ++vulnerable;
    } else if (absl::StartsWith(state, "Mitigation")) {
      ++mitigated;
    } else {
      ++unknown;
    }
  }
  if (ec) return "unreadable";
  std::string out =
      absl::StrFormat("%d mitigated, %d vulnerable, %d not affected",
                      mitigated, vulnerable, unaffected);
  if (unknown > 0) absl::StrAppendFormat(&out, ", %d unknown", unknown);
  return out;
}

uint64_t Fnv1a(const std::string& text, uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001B3ull;
  }
  return hash;
}

}  // namespace

std::string FingerprintOf(const Fields& fields) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (const auto& [key, value] : fields) {
    if (key == "machine_fingerprint") continue;
    hash = Fnv1a(key, hash);
    hash = Fnv1a("=", hash);
    hash = Fnv1a(value, hash);
    hash = Fnv1a(";", hash);
  }
  return absl::StrFormat("%016x", hash);
}

Fields MachineFingerprint() { return MachineFingerprintUnder("/"); }

Fields MachineFingerprintUnder(absl::string_view root_in) {
  std::string root(root_in);
  if (!absl::EndsWith(root, "/")) root += '/';
  utsname u{};
  uname(&u);
  std::string memory = "unknown";
  int64_t kib = 0;
  if (absl::SimpleAtoi(absl::StripSuffix(
                           Field(root + "proc/meminfo", "MemTotal"), " kB"),
                       &kib)) {
    memory = absl::StrFormat("%.1f GiB", kib / 1048576.0);
  }
  const std::string governor = FirstLine(
      root + "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  const std::string model = Field(root + "proc/cpuinfo", "model name");
  Fields fields = {
      {"cpu_model", model.empty() ? "unknown" : model},
      {"cpus_online", absl::StrCat(sysconf(_SC_NPROCESSORS_ONLN))},
      {"cpus_usable", absl::StrCat(ioreq::AllowedCpus().size())},
      {"memory", memory},
      {"kernel", absl::StrCat(u.sysname, " ", u.release)},
      {"hypervisor", Hypervisor()},
      {"kvm", KvmModule(root)},
      {"mitigations", Mitigations(root)},
      {"governor", governor.empty() ? "unreadable (no cpufreq)" : governor},
  };
  fields.emplace_back("machine_fingerprint", FingerprintOf(fields));
  return fields;
}

}  // namespace bench
