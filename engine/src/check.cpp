// Snapshot::check: the decision function of spec §7.2-§7.4.
#include <bit>

#include "compiled.hpp"

namespace postern::engine {
namespace {

using Expiries = std::map<std::string, std::int64_t, std::less<>>;

struct Endpoint {
  const grammar::ip::Address* address = nullptr;
  const Slot* slot = nullptr;  // null: not a device address
};

bool port_ok(const CompiledRule& r, std::uint16_t port) {
  for (const auto& p : r.ports) {
    if (p.first <= port && port <= p.last) return true;
  }
  return false;
}

bool full_ports(const CompiledRule& r) {
  for (const auto& p : r.ports) {
    if (p.first == 0 && p.last == 65535) return true;
  }
  return false;
}

// Protocol/port part of §7.3.
bool proto_port_ok(const CompiledRule& r, std::uint8_t proto, std::uint16_t port) {
  if (proto == kProtoIcmp || proto == kProtoIcmpV6) return true;  // any rule for the pair
  const bool in_set =
      r.default_protos ? (proto == kProtoTcp || proto == kProtoUdp) : r.proto == proto;
  if (!in_set) return false;
  if (proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp) return port_ok(r, port);
  return full_ports(r);
}

bool src_ok(const CompiledPolicy& cp, std::size_t ri, const Endpoint& src) {
  const auto& r = cp.rules[ri];
  if (src.slot != nullptr) return test_bit(cp.src_class_rows[src.slot->src_class], ri);
  return r.src_any_address || r.src_addrs.contains(*src.address);
}

bool dst_ok(const CompiledPolicy& cp, std::size_t ri, const Endpoint& src, const Endpoint& dst) {
  const auto& r = cp.rules[ri];
  if (dst.slot != nullptr) {
    if (!test_bit(cp.dst_class_rows[dst.slot->dst_class], ri)) return false;
  } else {
    if (r.dst_self) return false;
    if (!r.dst_addrs.contains(*dst.address)) return false;
    if (r.has_via && !r.via_routes.contains(*dst.address)) return false;
  }
  if (r.dst_self) {
    if (src.slot == nullptr) return false;
    const auto so = cp.device_owner[src.slot->device];
    return so != CompiledPolicy::kNoOwner && so == cp.device_owner[dst.slot->device];
  }
  return true;
}

struct PostureSource {
  const AttrMap* attrs = nullptr;
  const Expiries* expiries = nullptr;
  const DeviceState* state = nullptr;  // stored state (no override)
  std::vector<bool> override_ok;       // per posture, when attrs are overridden
};

bool posture_ok(const CompiledPolicy& cp, std::size_t ri, const Endpoint& src,
                const PostureSource& ps) {
  const auto& r = cp.rules[ri];
  if (r.posture_list < 0) return true;
  if (src.slot == nullptr || cp.device_exempt[src.slot->device]) return true;
  const auto& posture_ok = ps.state != nullptr ? ps.state->posture_ok : ps.override_ok;
  for (auto p : cp.lists[static_cast<std::size_t>(r.posture_list)].postures) {
    if (posture_ok[p]) return true;
  }
  return false;
}

NearMiss explain(const CompiledPolicy& cp, std::size_t ri, const PostureSource& ps,
                 std::int64_t now) {
  const auto& r = cp.rules[ri];
  NearMiss nm;
  nm.rule = r.ref;
  nm.from_default = r.posture_from_default;
  static const AttrMap kEmpty;
  const AttrMap& attrs = ps.attrs != nullptr ? *ps.attrs : kEmpty;
  for (auto p : cp.lists[static_cast<std::size_t>(r.posture_list)].postures) {
    nm.postures.push_back(explain_posture(cp, p, attrs, ps.expiries, now));
  }
  return nm;
}

}  // namespace

Decision Snapshot::check(const Request& q) const noexcept {
  const SnapshotData& data = *data_;
  const CompiledPolicy& cp = *data.policy;
  Decision out;
  if (cp.allow_all) {
    out.allow = true;
    out.reason = Reason::AllowAll;
    return out;
  }
  if (q.src.v6 != q.dst.v6) return out;  // families never mix (§7.3)

  const std::uint32_t si = cp.slot_index.find(q.src);
  const std::uint32_t di = cp.slot_index.find(q.dst);
  Endpoint src{&q.src, si == SlotIndex::kNone ? nullptr : &cp.slots[si]};
  Endpoint dst{&q.dst, di == SlotIndex::kNone ? nullptr : &cp.slots[di]};
  const int column = cp.proto_column(q.proto);
  const bool icmp = q.proto == kProtoIcmp || q.proto == kProtoIcmpV6;

  // Fast path: device to device, stored attributes, a port protocol or ICMP: the AND of four
  // rule bitsets, lowest set bit first.
  if (src.slot != nullptr && dst.slot != nullptr && q.src_attrs == nullptr &&
      (column >= 0 || icmp)) {
    const auto dev = src.slot->device;
    const Word* s = src.slot->src_row;
    const Word* pk = data.chunks[dev / kChunk]->pok[dev % kChunk];
    const Word* d = dst.slot->dst_row;
    const Word* pr = icmp ? nullptr
                          : cp.port_rows[std::size_t{cp.interval_of[q.port]} * 3 +
                                         static_cast<std::size_t>(column)]
                                .data();
    bool posture_near = false;
    for (std::size_t w = 0; w < cp.words; ++w) {
      Word m = s[w] & d[w];
      if (pr != nullptr) m &= pr[w];
      if (m == 0) continue;
      Word x = m & pk[w];
      while (x != 0) {
        const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(x));
        x &= x - 1;
        if (cp.rule_self[ri] != 0 && !dst_ok(cp, ri, src, dst)) continue;
        out.allow = true;
        out.reason = Reason::Rule;
        out.rule = cp.rule_refs[ri];
        return out;
      }
      for (Word y = m & ~pk[w]; y != 0 && !posture_near; y &= y - 1) {
        const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(y));
        posture_near = cp.rule_self[ri] == 0 || dst_ok(cp, ri, src, dst);
      }
    }
    if (!posture_near) return out;
    out.reason = Reason::PostureFailed;
    if (!q.explain) return out;
    // Explain: the generic path below lists every near miss with its failing conditions.
  }

  const DeviceState* state = nullptr;
  if (src.slot != nullptr) {
    const auto dev = src.slot->device;
    state = &data.chunks[dev / kChunk]->states[dev % kChunk];
  }

  // Generic path: one rule at a time.
  PostureSource ps;
  if (state != nullptr) {
    ps.attrs = state->attributes.get();
    ps.expiries = state->expiries.get();
    ps.state = state;
  }
  if (q.src_attrs != nullptr) {
    ps.attrs = q.src_attrs;
    ps.expiries = nullptr;
    ps.state = nullptr;
    ps.override_ok.assign(cp.postures.size(), false);
    for (std::uint32_t p = 0; p < cp.postures.size(); ++p) {
      ps.override_ok[p] = posture_holds(cp, p, *q.src_attrs, nullptr, data.now);
    }
  }
  for (std::size_t ri = 0; ri < cp.rules.size(); ++ri) {
    if (!proto_port_ok(cp.rules[ri], q.proto, q.port)) continue;
    if (!src_ok(cp, ri, src) || !dst_ok(cp, ri, src, dst)) continue;
    if (posture_ok(cp, ri, src, ps)) {
      out.allow = true;
      out.reason = Reason::Rule;
      out.rule = cp.rules[ri].ref;
      out.near_misses.clear();
      return out;
    }
    out.reason = Reason::PostureFailed;
    if (q.explain) out.near_misses.push_back(explain(cp, ri, ps, data.now));
  }
  return out;
}

}  // namespace postern::engine
