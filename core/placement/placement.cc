#include "core/placement/placement.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ioreq {
namespace {

constexpr char kAccepted[] =
    "none, same-core, cross-core, or V/H with V and H comma-separated CPU "
    "lists (e.g. 0/1)";

std::vector<int> ThreadCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
    return cpus;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

absl::StatusOr<std::vector<int>> ParseCpuList(absl::string_view list,
                                              const std::vector<int>& allowed,
                                              absl::string_view flag) {
  std::vector<int> cpus;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    int cpu = -1;
    if (!absl::SimpleAtoi(part, &cpu) || cpu < 0 || cpu >= CPU_SETSIZE) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--pin=%s: accepts %s", flag, kAccepted));
    }
    bool ok = false;
    for (int a : allowed) ok |= a == cpu;
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--pin=%s: CPU %d is not one this process may use (%s)", flag, cpu,
          absl::StrJoin(allowed, ",")));
    }
    cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

absl::StatusOr<Placement> ParsePlacement(absl::string_view flag) {
  Placement p;
  p.name = std::string(flag);
  const std::vector<int> allowed = AllowedCpus();
  if (flag == "none") return p;
  if (allowed.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--pin=%s: this process's CPUs cannot be read", flag));
  }
  if (flag == "same-core") {
    p.vcpu_cpus = p.hsm_cpus = {allowed[0]};
    return p;
  }
  if (flag == "cross-core") {
    if (allowed.size() < 2) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--pin=cross-core: needs two CPUs; this process may use %d",
          allowed.size()));
    }
    p.vcpu_cpus = {allowed[0]};
    p.hsm_cpus = {allowed[1]};
    return p;
  }
  std::vector<absl::string_view> sides = absl::StrSplit(flag, '/');
  if (sides.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--pin=%s: accepts %s", flag, kAccepted));
  }
  absl::StatusOr<std::vector<int>> vcpus = ParseCpuList(sides[0], allowed, flag);
  if (!vcpus.ok()) return vcpus.status();
  absl::StatusOr<std::vector<int>> hsm = ParseCpuList(sides[1], allowed, flag);
  if (!hsm.ok()) return hsm.status();
  p.vcpu_cpus = *vcpus;
  p.hsm_cpus = *hsm;
  return p;
}

absl::Status PinCurrentThread(const std::vector<int>& cpus) {
  const std::vector<int> target = cpus.empty() ? AllowedCpus() : cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : target) CPU_SET(cpu, &set);
  const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) {
    return absl::InternalError(absl::StrFormat(
        "pthread_setaffinity_np(%s): %s", absl::StrJoin(target, ","),
        std::strerror(err)));
  }
  return absl::OkStatus();
}

ScopedPin::ScopedPin(const std::vector<int>& cpus) {
  if (cpus.empty()) return;
  before_ = ThreadCpus();
  status_ = PinCurrentThread(cpus);
  changed_ = status_.ok();
}

ScopedPin::~ScopedPin() {
  if (changed_) PinCurrentThread(before_).IgnoreError();
}

}  // namespace ioreq
