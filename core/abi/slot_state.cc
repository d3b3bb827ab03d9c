#include "core/abi/slot_state.h"

namespace ioreq {

const char* StateName(uint32_t state) {
  switch (state) {
    case kStatePending:
      return "PENDING";
    case kStateComplete:
      return "COMPLETE";
    case kStateProcessing:
      return "PROCESSING";
    case kStateFree:
      return "FREE";
    default:
      return "INVALID";
  }
}

}  // namespace ioreq
