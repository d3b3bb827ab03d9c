#include "bench/internal/machine_fingerprint.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace bench {
namespace {

TEST(MachineFingerprint, HasEveryFieldAndAStableHash) {
  const Fields a = MachineFingerprint();
  std::set<std::string> keys;
  for (const auto& [k, v] : a) {
    keys.insert(k);
    EXPECT_FALSE(v.empty()) << k;
  }
  for (const char* k : {"cpu_model", "cpus_online", "cpus_usable", "memory",
                        "kernel", "hypervisor", "kvm", "mitigations",
                        "governor", "machine_fingerprint"}) {
    EXPECT_TRUE(keys.count(k)) << k;
  }
  EXPECT_EQ(a.back().first, "machine_fingerprint");
  EXPECT_EQ(a.back().second.size(), 16u);
  // The same machine gives the same fingerprint.
  EXPECT_EQ(MachineFingerprint().back().second, a.back().second);
}

TEST(MachineFingerprint, AnyFieldChangesTheHash) {
  Fields f = {{"cpu_model", "A"}, {"kvm", "kvm_pvm"}};
  const std::string base = FingerprintOf(f);
  EXPECT_EQ(FingerprintOf(f), base);
  f[1].second = "kvm_intel";
  EXPECT_NE(FingerprintOf(f), base);
  // Key and value boundaries matter: "ab"="c" is not "a"="bc".
  EXPECT_NE(FingerprintOf({{"ab", "c"}}), FingerprintOf({{"a", "bc"}}));
  // An old fingerprint entry is not part of the hash.
  Fields g = {{"cpu_model", "A"}, {"kvm", "kvm_pvm"}};
  g.emplace_back("machine_fingerprint", "whatever");
  EXPECT_EQ(FingerprintOf(g), base);
}

// A made-up /proc and /sys under the test's temporary directory.
class FakeRoot {
 public:
  explicit FakeRoot(const std::string& name)
      : root_(std::string(std::getenv("TEST_TMPDIR")) + "/" + name) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void Write(const std::string& path, const std::string& text) {
    const std::filesystem::path p = root_ + "/" + path;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void MakeDir(const std::string& path) {
    std::filesystem::create_directories(root_ + "/" + path);
  }
  std::map<std::string, std::string> Read() const {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : MachineFingerprintUnder(root_)) m[k] = v;
    return m;
  }

 private:
  std::string root_;
};

constexpr char kVulnerabilities[] = "sys/devices/system/cpu/vulnerabilities/";

TEST(MachineFingerprintUnder, ReadsEachFileItNames) {
  FakeRoot t("full");
  t.Write("proc/cpuinfo",
          "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
          "model name\t: AMD EPYC 7B13\nmodel name\t: not the first\n");
  t.Write("proc/meminfo",
          "MemFree:         1024 kB\nMemTotal:       25165824 kB\n");
  t.Write("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
          "performance\n");
  t.Write("dev/kvm", "");
  t.MakeDir("sys/module/kvm_amd");
  t.Write(std::string(kVulnerabilities) + "meltdown", "Not affected\n");
  t.Write(std::string(kVulnerabilities) + "l1tf", "Not affected\n");
  t.Write(std::string(kVulnerabilities) + "spectre_v1",
          "Mitigation: usercopy/swapgs barriers\n");
  t.Write(std::string(kVulnerabilities) + "mds",
          "Mitigation: Clear CPU buffers; SMT vulnerable\n");
  t.Write(std::string(kVulnerabilities) + "itlb_multihit",
          "KVM: Mitigation: VMX unsupported\n");
  t.Write(std::string(kVulnerabilities) + "retbleed", "Vulnerable\n");
  t.Write(std::string(kVulnerabilities) + "mmio_stale_data",
          "Vulnerable: Clear CPU buffers attempted, no microcode\n");
  t.Write(std::string(kVulnerabilities) + "srbds", "KVM: Vulnerable\n");
  t.Write(std::string(kVulnerabilities) + "gather_data_sampling",
          "Unknown: Dependent on hypervisor status\n");
  const auto m = t.Read();
  EXPECT_EQ(m.at("cpu_model"), "AMD EPYC 7B13");
  EXPECT_EQ(m.at("memory"), "24.0 GiB");
  EXPECT_EQ(m.at("governor"), "performance");
  EXPECT_EQ(m.at("kvm"), "kvm_amd");
  EXPECT_EQ(m.at("mitigations"),
            "3 mitigated, 3 vulnerable, 2 not affected, 1 unknown");
}

TEST(MachineFingerprintUnder, TheNestedModuleIsNamedFirst) {
  FakeRoot t("nested");
  t.Write("dev/kvm", "");
  t.MakeDir("sys/module/kvm_intel");
  t.MakeDir("sys/module/kvm_pvm");
  EXPECT_EQ(t.Read().at("kvm"), "kvm_pvm");
  FakeRoot u("no_module");
  u.Write("dev/kvm", "");
  EXPECT_EQ(u.Read().at("kvm"), "unknown");
}

TEST(MachineFingerprintUnder, AMachineWithoutTheFilesSaysSo) {
  FakeRoot t("empty");
  const auto m = t.Read();
  EXPECT_EQ(m.at("cpu_model"), "unknown");
  EXPECT_EQ(m.at("memory"), "unknown");
  EXPECT_EQ(m.at("governor"), "unreadable (no cpufreq)");
  EXPECT_EQ(m.at("kvm"), "none (/dev/kvm absent)");
  EXPECT_EQ(m.at("mitigations"), "unreadable");
  // No unknown count when nothing is unknown: fingerprints of machines
  // recorded before the count existed stay the same.
  t.Write(std::string(kVulnerabilities) + "meltdown", "Not affected\n");
  EXPECT_EQ(t.Read().at("mitigations"),
            "0 mitigated, 0 vulnerable, 1 not affected");
  // The hash follows the files.
  const std::string before = m.at("machine_fingerprint");
  EXPECT_NE(t.Read().at("machine_fingerprint"), before);
}

}  // namespace
}  // namespace bench
