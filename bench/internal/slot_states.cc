#include "bench/internal/slot_states.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/abi/slot_state.h"

namespace bench {
namespace stress_internal {

std::string SlotStates(const ioreq::Hsm& hsm, const ioreq::SharedPage* page,
                       uint16_t vmid, int vcpus) {
  std::vector<std::string> states;
  for (int i = 0; i < vcpus; ++i) {
    const uint32_t state = ioreq::LoadStateAcquire(page->slots[i]);
    std::string s = absl::StrCat(i, " ", ioreq::StateName(state));
    absl::StatusOr<std::string> holder = hsm.HolderOf(vmid, i);
    if (state == ioreq::kStateProcessing && holder.ok() && !holder->empty()) {
      absl::StrAppend(&s, " (held by ", *holder, ")");
    }
    states.push_back(std::move(s));
  }
  return absl::StrJoin(states, ", ");
}

}  // namespace stress_internal
}  // namespace bench
