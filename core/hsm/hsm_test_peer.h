// core/hsm/hsm_test_peer.h: tests' access to the parts behind an Hsm.
//
// For tests of one part that need the others wired as the Hsm wires them
// (for example the direct claimer's step on one slot with a snapshot the
// test chooses). Never for code that is not a test.
//
// Example:
//   hsm_internal::HsmContext& ctx = ioreq::HsmTestPeer::Context(hsm);
//   auto vm = ctx.registry.FindVm(vmid);
#ifndef IOREQ_CORE_HSM_HSM_TEST_PEER_H_
#define IOREQ_CORE_HSM_HSM_TEST_PEER_H_

#include "core/hsm/hsm.h"
#include "core/hsm/internal/engine.h"

namespace ioreq {

class HsmTestPeer {
 public:
  static hsm_internal::HsmContext& Context(Hsm& hsm) { return *hsm.ctx_; }
  static hsm_internal::RoutingEngine& Engine(Hsm& hsm) { return *hsm.engine_; }
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HSM_TEST_PEER_H_
