// core/hsm/ioeventfd.h: writes that only signal an eventfd [ioeventfd].
//
// A guest driver often "kicks" a device by writing to a doorbell register;
// the emulator only needs to know that it happened. An ioeventfd turns such
// a write into an eventfd signal without waking the device model. Per VM the
// HSM keeps a table of ioeventfds and one in-process client ("ioeventfd")
// that owns their address ranges:
//   - Assign(fd, addr, len, flags, data): len in {1,2,4,8}, addr + len does
//     not wrap, reserved zero. An entry with the same fd, addr and type whose
//     data is a wildcard or equal is a conflict ("exists"). The range
//     [addr, addr + len - 1] is added to the ioeventfd client.
//   - Deassign: the first entry with that fd goes, and its range.
//   - Handler: a read completes with 0; a write signals the first entry with
//     the same type, the same addr, length >= size and (wildcard or
//     data == value). Unmatched writes are completed and swallowed.
//
// Example:
//   ioreq::IoeventfdTable table;
//   ioreq::IoeventfdArgs args{.fd = efd, .flags = 0, .addr = 0xf0000010,
//                             .len = 4};
//   absl::StatusOr<ioreq::IoRange> range = table.Assign(args);
#ifndef IOREQ_CORE_HSM_IOEVENTFD_H_
#define IOREQ_CORE_HSM_IOEVENTFD_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/range_index.h"

namespace ioreq {

// True when `fd` is an open eventfd of this process: what an ioeventfd and a
// posted write (posted_writes.h) may signal.
bool IsEventfd(uint32_t fd);

// The tables' own copy of a user's eventfd (the kernel takes a reference to
// the file): a duplicate descriptor, and whether the open file has
// O_NONBLOCK, read once when the copy is made.
struct EventfdCopy {
  int fd = -1;
  bool nonblocking = false;
};

// Copies `fd` (close the copy's fd when done). ResourceExhausted where the
// process has no descriptor free for the copy.
absl::StatusOr<EventfdCopy> CopyEventfd(uint32_t fd);

// Adds 1 to the counter as the kernel's eventfd_signal() does: it never
// waits. Where the counter is full (2^64 - 2: only a process that owns the
// eventfd can fill it) the signal is lost and false comes back; its reader
// still finds a nonzero count, as after the kernel saturated it. A
// nonblocking eventfd is written at once (a full counter answers EAGAIN);
// any other is first asked for room with poll(), so its signal costs two
// system calls. Used by the ioeventfd handler and the posted-write drain.
// What could still wait: the owner clearing O_NONBLOCK after the copy was
// made, or writing into a blocking eventfd between the room check and this
// write, each with the counter full, until its reader reads.
bool SignalEventfd(const EventfdCopy& copy);

class IoeventfdTable {
 public:
  IoeventfdTable() = default;
  ~IoeventfdTable();  // closes the descriptors it holds
  IoeventfdTable(const IoeventfdTable&) = delete;
  IoeventfdTable& operator=(const IoeventfdTable&) = delete;

  // Checks and records an assignment; returns the range the ioeventfd
  // client must own. InvalidArgument for bad arguments or a descriptor that
  // is not an eventfd, AlreadyExists for a conflict, ResourceExhausted where
  // the process has no descriptor left for the table's copy of it.
  absl::StatusOr<IoRange> Assign(const IoeventfdArgs& args);

  // Removes the first entry with args.fd; returns its range, or NotFound.
  absl::StatusOr<IoRange> Deassign(const IoeventfdArgs& args);

  // acrn_ioeventfd_handler(): handles a request routed to the ioeventfd
  // client. Always succeeds.
  absl::Status Handle(IoAccess& access);

  size_t size() const;
  uint64_t signals() const;    // signals that reached their eventfd
  uint64_t swallowed() const;  // writes that matched no entry

 private:
  struct Entry {
    uint32_t fd;       // the caller's descriptor number: the identity
    EventfdCopy signal;  // our copy, kept open while assigned
    uint32_t type;
    uint64_t addr;
    uint32_t length;
    uint64_t data;
    bool wildcard;
  };
  mutable std::mutex mu_;       // ioeventfds_lock
  std::vector<Entry> entries_;  // guarded by mu_, in assignment order
  uint64_t signals_ = 0;        // guarded by mu_
  uint64_t swallowed_ = 0;      // guarded by mu_
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_IOEVENTFD_H_
