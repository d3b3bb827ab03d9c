#include "core/hsm/internal/engine.h"

#include "core/hsm/internal/direct_claimer.h"
#include "core/hsm/internal/kernel_dispatcher.h"

namespace ioreq {
namespace hsm_internal {

std::unique_ptr<RoutingEngine> MakeEngine(Strategy strategy,
                                          HsmContext& context) {
  return WithStrategy(
      strategy, [&](auto tag) -> std::unique_ptr<RoutingEngine> {
        using Bell = typename decltype(tag)::type;
        if (context.options.topology == Topology::kDirect) {
          return std::make_unique<DirectClaimer<Bell>>(context);
        }
        return std::make_unique<KernelDispatcher<Bell>>(context);
      });
}

}  // namespace hsm_internal
}  // namespace ioreq
