#include "core/hsm/kernel_range_list.h"

#include <algorithm>

#include "core/abi/abi.h"

namespace ioreq {

void KernelRangeList::Add(uint64_t client, const IoRange& range) {
  // Clients stay newest first, as list_add() at client creation keeps them.
  auto it = std::find_if(clients_.begin(), clients_.end(),
                         [&](const Client& c) { return c.id <= client; });
  if (it == clients_.end() || it->id != client) {
    it = clients_.insert(it, Client{client, {}});
  }
  it->ranges.push_front(range);  // list_add(): newest range first
}

bool KernelRangeList::Remove(uint64_t client, const IoRange& range) {
  for (Client& c : clients_) {
    if (c.id != client) continue;
    for (auto r = c.ranges.begin(); r != c.ranges.end(); ++r) {
      if (*r == range) {
        c.ranges.erase(r);
        return true;
      }
    }
    return false;
  }
  return false;
}

void KernelRangeList::RemoveClient(uint64_t client) {
  clients_.remove_if([&](const Client& c) { return c.id == client; });
}

std::optional<uint64_t> KernelRangeList::Find(uint32_t type, uint64_t addr,
                                              uint64_t size) const {
  if (type != kTypePortIo && type != kTypeMmio) return std::nullopt;
  for (const Client& c : clients_) {
    for (const IoRange& r : c.ranges) {
      // in_range(), u64 arithmetic as in the kernel.
      if (r.type == type && addr >= r.start && addr + size - 1 <= r.end) {
        return c.id;
      }
    }
  }
  return std::nullopt;
}

}  // namespace ioreq
