// core/placement/busy_load.h: other processes that keep the CPUs busy.
//
// BusyLoad starts `processes` child processes that each spin on a CPU
// (plain integer work, no system call) until the BusyLoad is destroyed,
// or until its parent dies (PR_SET_PDEATHSIG). It is the "machine with
// another busy process" of the benchmarks (RoundTrip/.../load:busy) and of
// the adaptive doorbell's tests: the competition a spinner must notice
// even though it is not of its own process.
//
// Example:
//   {
//     ioreq::BusyLoad busy(1);  // one other process spinning
//     RunTheMeasurement();
//   }  // the children are killed and reaped here
#ifndef IOREQ_CORE_PLACEMENT_BUSY_LOAD_H_
#define IOREQ_CORE_PLACEMENT_BUSY_LOAD_H_

#include <sys/types.h>

#include <vector>

namespace ioreq {

class BusyLoad {
 public:
  explicit BusyLoad(int processes);
  ~BusyLoad();
  BusyLoad(const BusyLoad&) = delete;
  BusyLoad& operator=(const BusyLoad&) = delete;

  // How many children run (fewer than asked if fork() failed).
  int running() const { return static_cast<int>(children_.size()); }

 private:
  std::vector<pid_t> children_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_PLACEMENT_BUSY_LOAD_H_
