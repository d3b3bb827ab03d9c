#include "bench/internal/machine_fingerprint.h"

#include <set>

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

}  // namespace
}  // namespace bench
