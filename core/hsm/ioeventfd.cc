#include "core/hsm/ioeventfd.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

bool IsEventfd(uint32_t fd) {
  if (fd > static_cast<uint32_t>(INT_MAX)) return false;
  char link[64];
  const std::string path = absl::StrFormat("/proc/self/fd/%u", fd);
  const ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
  if (n < 0) return false;
  return std::string(link, static_cast<size_t>(n)) == "anon_inode:[eventfd]";
}

absl::StatusOr<EventfdCopy> CopyEventfd(uint32_t fd) {
  EventfdCopy copy;
  copy.fd = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
  if (copy.fd < 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("dup of fd %u failed: errno %d", fd, errno));
  }
  const int flags = fcntl(copy.fd, F_GETFL);
  copy.nonblocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
  return copy;
}

bool SignalEventfd(const EventfdCopy& copy) {
  if (!copy.nonblocking) {
    // eventfd_poll() reports POLLOUT while ULLONG_MAX - 1 > count: exactly
    // while a write of 1 fits, so the write below does not block.
    pollfd room{copy.fd, POLLOUT, 0};
    int ready;
    do {
      ready = poll(&room, 1, /*timeout=*/0);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0 || (room.revents & POLLOUT) == 0) return false;
  }
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(copy.fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(one));
}

IoeventfdTable::~IoeventfdTable() {
  for (const Entry& e : entries_) close(e.signal.fd);
}

absl::StatusOr<IoRange> IoeventfdTable::Assign(const IoeventfdArgs& args) {
  if (args.flags & kIoeventfdFlagDeassign) {
    return absl::InvalidArgumentError("Assign() called with the DEASSIGN flag");
  }
  if (args.flags & ~(kIoeventfdFlagPio | kIoeventfdFlagDatamatch)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ioeventfd flags 0x%x: unknown bits", args.flags));
  }
  if (args.reserved != 0) {
    return absl::InvalidArgumentError("ioeventfd reserved field is not zero");
  }
  if (args.len != 1 && args.len != 2 && args.len != 4 && args.len != 8) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ioeventfd len %u: must be 1, 2, 4 or 8", args.len));
  }
  if (args.addr + args.len < args.addr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ioeventfd range 0x%x + %u wraps", args.addr, args.len));
  }
  if (!IsEventfd(args.fd)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("fd %u is not an eventfd", args.fd));
  }
  Entry e;
  e.fd = args.fd;
  e.type = (args.flags & kIoeventfdFlagPio) ? kTypePortIo : kTypeMmio;
  e.addr = args.addr;
  e.length = args.len;
  e.wildcard = (args.flags & kIoeventfdFlagDatamatch) == 0;
  e.data = e.wildcard ? 0 : args.data;

  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& p : entries_) {
    // hsm_ioeventfd_is_conflict()
    if (p.fd == e.fd && p.addr == e.addr && p.type == e.type &&
        (p.wildcard || e.wildcard || p.data == e.data)) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "ioeventfd fd %u at 0x%x already assigned", e.fd, e.addr));
    }
  }
  absl::StatusOr<EventfdCopy> copy = CopyEventfd(args.fd);
  if (!copy.ok()) return copy.status();
  e.signal = *copy;
  entries_.push_back(e);
  return IoRange{e.type, e.addr, e.addr + e.length - 1};
}

absl::StatusOr<IoRange> IoeventfdTable::Deassign(const IoeventfdArgs& args) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->fd != args.fd) continue;
    IoRange range{it->type, it->addr, it->addr + it->length - 1};
    close(it->signal.fd);
    entries_.erase(it);
    return range;
  }
  return absl::NotFoundError(
      absl::StrFormat("no ioeventfd assigned with fd %u", args.fd));
}

absl::Status IoeventfdTable::Handle(IoAccess& access) {
  // Requests are routed by range only, so reads arrive too: they read 0.
  if (access.direction == kDirRead) {
    access.value = 0;
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& p : entries_) {
    // hsm_ioeventfd_match()
    if (p.type == access.type && p.addr == access.address &&
        p.length >= access.size && (p.wildcard || p.data == access.value)) {
      // A full counter saturates: the signal is lost, not waited for.
      if (SignalEventfd(p.signal)) ++signals_;
      return absl::OkStatus();
    }
  }
  ++swallowed_;
  return absl::OkStatus();
}

size_t IoeventfdTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

uint64_t IoeventfdTable::signals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return signals_;
}

uint64_t IoeventfdTable::swallowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return swallowed_;
}

}  // namespace ioreq
