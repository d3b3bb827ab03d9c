// dispatch_ops: an operation stream driving one VM through everything the
// HSM does by hand: hypervisor inserts of every kind (MMIO, port, 0xCF8,
// 0xCFC..0xCFF, raw PCICFG), garbage written into any slot byte (the state
// word included), dispatch passes, in-process and device-model service,
// NotifyRequestFinish with any u32, range add and delete, client create and
// destroy (any client), clear, nested pause and resume, VM reset, and the
// vCPUs taking their completions.
//
// The oracle is the lockstep of core/hsm/testing/lockstep.h: after every
// operation the real model's whole observable state (every slot's state,
// holder, folded register and completed value, every client's pending
// bitmap, the latch, per-slot completion counts, the outcome counters) is
// compared with a shadow model of docs/spec.md stepped by the same
// operation, and the invariants that hold whatever the hypervisor wrote are
// asserted. Both topologies and both profiles (the input's first bytes).
//
// Input format (fuzz/dispatch_ops_format.h): a 2-byte header, then fixed
// 8-byte records, one per operation, so a mutation changes one operation
// and never shifts the later ones; the custom mutator below keeps that
// shape. The world is built once per configuration and process and
// restarted per input (Lockstep::Restart()).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/hsm/testing/lockstep.h"
#include "fuzz/dispatch_ops_format.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;
using namespace ioreq::dispatch_ops;

Lockstep& World(const Header& h) {
  static auto* worlds =
      new std::map<std::tuple<Topology, Profile, uint32_t, bool>,
                   std::unique_ptr<Lockstep>>();
  std::unique_ptr<Lockstep>& w =
      (*worlds)[{h.topology, h.profile, h.vcpus, h.check_range_index}];
  if (!w) {
    w = std::make_unique<Lockstep>(h.topology, h.profile, h.vcpus,
                                   h.check_range_index);
  }
  return *w;
}

absl::Status Apply(Lockstep& w, const Op& op, uint32_t vcpus) {
  const uint32_t v = op.vcpu % vcpus;
  switch (op.kind) {
    case OpKind::kInsert: return w.Insert(v, op.access, op.polling);
    case OpKind::kGarbage: return w.Garbage(v, op.offset, op.bytes);
    case OpKind::kDispatch: return w.Dispatch();
    case OpKind::kServeClient: return w.ServeClient(op.index);
    case OpKind::kServeDefault: return w.ServeDefault();
    case OpKind::kNotifyFinish: return w.NotifyFinish(op.vcpu);
    case OpKind::kAddRange: return w.AddRange(op.index, op.range);
    case OpKind::kDelRange: return w.DelRange(op.index, op.range_index);
    case OpKind::kCreateClient: return w.CreateClient(op.is_default);
    case OpKind::kDestroyClient: return w.DestroyClient(op.is_default, op.index);
    case OpKind::kClear: return w.Clear();
    case OpKind::kPause: return w.Pause();
    case OpKind::kResume: return w.Resume();
    case OpKind::kTake: return w.Take(v);
    case OpKind::kReset: return w.Reset();
  }
  return absl::OkStatus();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Header h = DecodeHeader(data, size);
  Lockstep& w = World(h);
  const size_t n = RecordCount(size);
  for (size_t i = 0; i < n; ++i) {
    const Op op = DecodeRecord(RecordAt(data, i));
    const absl::Status s = Apply(w, op, h.vcpus);
    FUZZ_CHECK(s.ok(), "%s %s, %u vCPUs, operation %zu (%s): %s",
               TopologyName(h.topology), ProfileName(h.profile), h.vcpus, i,
               OpName(op.kind), std::string(s.message()).c_str());
  }
  w.Restart();
  return 0;
}

// Structure-preserving mutation: the header and whole records are the
// units (fuzz/record_stream.h).
IOREQ_RECORD_STREAM_MUTATORS(ioreq::dispatch_ops::kStream)
