// core/hsm/kernel_range_list.h: the kernel's linear scan of client ranges
// [find-client], kept as the reference for RangeIndex (range_index.h).
//
// drivers/virt/acrn/ioreq.c keeps, per VM, a list of clients (newest first)
// and, per client, a list of ranges (newest first), and find_ioreq_client()
// walks both until a range holds the whole access. KernelRangeList is that
// structure and that walk, with the kernel's u64 arithmetic. The dispatcher
// routes with RangeIndex; the HSM keeps this list beside it, and the tests,
// the range_map fuzzer and the benchmark compare the two.
//
// Under --config=fuzz it is built without coverage instrumentation: it is the
// oracle, and its loops are not behaviour for the fuzzer to explore.
//
// Example:
//   ioreq::KernelRangeList list;
//   list.Add(/*client=*/7, {ioreq::kTypePortIo, 0x3f8, 0x3ff});
//   std::optional<uint64_t> owner = list.Find(ioreq::kTypePortIo, 0x3fd, 1);
#ifndef IOREQ_CORE_HSM_KERNEL_RANGE_LIST_H_
#define IOREQ_CORE_HSM_KERNEL_RANGE_LIST_H_

#include <cstdint>
#include <list>
#include <optional>

#include "core/hsm/range_index.h"

namespace ioreq {

// The kernel's structure: clients newest first, each with its range list.
class KernelRangeList {
 public:
  // list_add(): the range goes to the head of the client's list; a client
  // seen for the first time goes to the head of the client list.
  void Add(uint64_t client, const IoRange& range);
  // Removes the first exact match; false if there is none.
  bool Remove(uint64_t client, const IoRange& range);
  // Forgets the client and all its ranges.
  void RemoveClient(uint64_t client);
  // find_ioreq_client() without the default-client fallback, with the
  // kernel's u64 arithmetic (including its wrap-around).
  std::optional<uint64_t> Find(uint32_t type, uint64_t addr,
                               uint64_t size) const;

 private:
  struct Client {
    uint64_t id;
    std::list<IoRange> ranges;
  };
  std::list<Client> clients_;  // newest first, as the kernel keeps them
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_KERNEL_RANGE_LIST_H_
