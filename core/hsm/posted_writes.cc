#include "core/hsm/posted_writes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/abi/abi.h"
#include "core/hsm/ioeventfd.h"

namespace ioreq {

PostedWrites::~PostedWrites() {
  for (auto& [cookie, d] : table_) close(d.signal_fd);
}

void PostedWrites::SetRing(PostedRing* ring) {
  std::lock_guard<std::mutex> lock(drain_mu_);
  // Release pairs with the acquire loads in Drain() and has_ring().
  ring_.store(ring, std::memory_order_release);
}

absl::StatusOr<uint64_t> PostedWrites::Assign(const PostedArgs& args) {
  if (args.type != kTypePortIo && args.type != kTypeMmio) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "posted write type %u: PORTIO (0) or MMIO (1)", args.type));
  }
  if (args.address == 0) {
    return absl::InvalidArgumentError("posted write address 0 is refused");
  }
  if (!IsEventfd(args.fd)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("fd %u is not an eventfd", args.fd));
  }
  std::lock_guard<std::mutex> lock(table_mu_);
  for (const auto& [cookie, d] : table_) {
    if (d.args.type == args.type && d.args.address == args.address &&
        (!d.args.match_data || !args.match_data || d.args.data == args.data)) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "a posted write descriptor already covers 0x%x", args.address));
    }
  }
  const int dup = fcntl(static_cast<int>(args.fd), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("dup of fd %u failed: errno %d", args.fd, errno));
  }
  const uint64_t cookie = next_cookie_++;
  table_.emplace(cookie, Descriptor{args, dup});
  return cookie;
}

absl::Status PostedWrites::Deassign(uint64_t cookie) {
  std::lock_guard<std::mutex> lock(table_mu_);
  auto it = table_.find(cookie);
  if (it == table_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("no posted write descriptor %u", cookie));
  }
  close(it->second.signal_fd);
  table_.erase(it);
  return absl::OkStatus();
}

PostedWrites::Drained PostedWrites::Drain() {
  Drained out;
  if (!HasEntries()) return out;  // empty: no lock
  // Pairs with the release store in SetRing(); null if detached meanwhile.
  PostedRing* ring = ring_.load(std::memory_order_acquire);
  if (ring == nullptr) return out;
  std::lock_guard<std::mutex> drain(drain_mu_);
  std::lock_guard<std::mutex> table(table_mu_);
  const DrainResult r = DrainPosted(*ring, [&](uint64_t cookie) {
    auto it = table_.find(cookie);
    if (it == table_.end()) {
      ++out.unknown;
      return;
    }
    if (SignalEventfd(it->second.signal_fd)) ++out.signaled;
  });
  out.corrupt = r.corrupt;
  return out;
}

}  // namespace ioreq
