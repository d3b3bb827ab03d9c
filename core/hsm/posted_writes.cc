#include "core/hsm/posted_writes.h"

#include <unistd.h>

#include "absl/strings/str_format.h"
#include "core/abi/abi.h"
#include "core/hsm/ioeventfd.h"

namespace ioreq {

PostedWrites::~PostedWrites() {
  for (auto& [cookie, d] : table_) close(d.signal.fd);
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
  absl::StatusOr<EventfdCopy> copy = CopyEventfd(args.fd);
  if (!copy.ok()) return copy.status();
  const uint64_t cookie = next_cookie_++;
  table_.emplace(cookie, Descriptor{args, *copy});
  return cookie;
}

absl::Status PostedWrites::Deassign(uint64_t cookie) {
  std::lock_guard<std::mutex> lock(table_mu_);
  auto it = table_.find(cookie);
  if (it == table_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("no posted write descriptor %u", cookie));
  }
  close(it->second.signal.fd);
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
    if (SignalEventfd(it->second.signal)) ++out.signaled;
  });
  out.corrupt = r.corrupt;
  return out;
}

}  // namespace ioreq
