#include "core/notify/testing/asleep.h"

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace ioreq {
namespace {

std::string ReadTaskFile(pid_t tid, const char* name) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/task/%d/%s",
                static_cast<int>(tid), name);
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The call the thread is blocked in, or -1: the file reads "running" for a
// thread on a CPU, and "-1 ..." for one stopped outside any call.
long BlockedIn(pid_t tid) {
  const std::string text = ReadTaskFile(tid, "syscall");
  char* end = nullptr;
  const long nr = std::strtol(text.c_str(), &end, 10);
  return end == text.c_str() ? -1 : nr;
}

// The state letter of stat's third field, found after the command name's
// closing parenthesis (the name itself may hold spaces and parentheses).
char State(pid_t tid) {
  const std::string text = ReadTaskFile(tid, "stat");
  const size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return '?';
  return text[close + 2];
}

// The threads of this process whose name `match` accepts.
template <typename Match>
std::vector<pid_t> ThreadsWhose(Match match) {
  std::vector<pid_t> found;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return found;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
    std::string comm = ReadTaskFile(tid, "comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (!comm.empty() && match(comm)) found.push_back(tid);
  }
  closedir(dir);
  return found;
}

}  // namespace

std::vector<pid_t> ThreadsNamed(absl::string_view name) {
  return ThreadsWhose([name](absl::string_view comm) { return comm == name; });
}

std::vector<pid_t> ThreadsNamedStartingWith(absl::string_view prefix) {
  return ThreadsWhose(
      [prefix](absl::string_view comm) { return absl::StartsWith(comm, prefix); });
}

bool AwaitAsleep(pid_t tid, long syscall_nr, absl::Duration timeout) {
  const std::atomic<pid_t> id{tid};
  return AwaitAsleep(id, syscall_nr, timeout);
}

bool AwaitAsleep(const std::atomic<pid_t>& tid, long syscall_nr,
                 absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const pid_t id = tid.load();
    if (id != 0 && BlockedIn(id) == syscall_nr && State(id) == 'S') {
      return true;
    }
    absl::SleepFor(absl::Microseconds(200));
  }
  return false;
}

}  // namespace ioreq
