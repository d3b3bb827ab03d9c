// bench/internal/machine_fingerprint.h: what a reader needs to judge whether
// two runs' figures can be compared.
//
// A ratio measured on one machine can be the opposite on another (this
// project's raw futex ping-pong was 20 µs on one VM and 1.5 µs on another),
// so every benchmark run records, in its JSON context, the machine it ran
// on: CPU model, online and usable CPUs, memory, kernel, whether it is
// virtualised and under which hypervisor (CPUID leaf 0x40000000), which
// KVM module the host offers (kvm_intel, kvm_amd, the nested kvm_pvm, or
// none), a summary of the CPU vulnerability mitigations, and the frequency
// governor where readable. `machine_fingerprint` is a short hash of the
// fields that decide comparability; reports/compare.py warns when two runs'
// fingerprints differ and names the fields.
//
// Example:
//   for (const auto& [key, value] : bench::MachineFingerprint())
//     benchmark::AddCustomContext(key, value);
#ifndef IOREQ_BENCH_INTERNAL_MACHINE_FINGERPRINT_H_
#define IOREQ_BENCH_INTERNAL_MACHINE_FINGERPRINT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace bench {

using Fields = std::vector<std::pair<std::string, std::string>>;

// The fields of this machine, `machine_fingerprint` last.
Fields MachineFingerprint();

// The same with the files read under `root` ("/" is this machine):
// proc/cpuinfo, proc/meminfo, sys/devices/system/cpu/vulnerabilities/,
// the cpu0 frequency governor, dev/kvm and sys/module/. The CPU counts, the
// kernel and CPUID still come from the running machine. A field whose file
// is missing reads "unknown", "unreadable" or "none", never empty.
Fields MachineFingerprintUnder(absl::string_view root);

// The hash of `fields` (every field but a machine_fingerprint entry):
// 16 hex digits, equal for equal fields.
std::string FingerprintOf(const Fields& fields);

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_MACHINE_FINGERPRINT_H_
