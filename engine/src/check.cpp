// Snapshot::check: the decision function of spec §7.2-§7.4.
#include <algorithm>
#include <array>
#include <bit>
#include <span>

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

// The device-to-device fast path's inputs: both endpoints are device addresses, the source's
// stored attributes apply and the protocol is a port protocol or ICMP.
struct FastQuery {
  const Slot* src = nullptr;
  const Slot* dst = nullptr;
  const Word* pok = nullptr;   // rules whose posture gate the source passes
  const Word* port = nullptr;  // rules admitting the protocol and port (all_rules for ICMP)
};

struct FastResult {
  std::int64_t rule = -1;     // the deciding rule, -1 = deny
  bool posture_near = false;  // (kNear only) some rule fails only by posture
};

// autogroup:self (§4): both devices belong to the same user, and neither is tagged.
bool same_owner(const CompiledPolicy& cp, const FastQuery& f) {
  const auto so = cp.device_owner[f.src->device];
  return so != CompiledPolicy::kNoOwner && so == cp.device_owner[f.dst->device];
}

// The AND of four rule bitsets, lowest set bit first. kNear also finds whether a rule matched
// everything but posture (the deny reason); the allow-only batch path skips that scan.
template <bool kNear>
FastResult fast_match(const CompiledPolicy& cp, const FastQuery& f) {
  const Word* s = f.src->src_row;
  const Word* d = f.dst->dst_row;
  FastResult out;
  for (std::size_t w = 0; w < cp.words; ++w) {
    const Word m = s[w] & d[w] & f.port[w];
    if (m == 0) continue;
    for (Word x = m & f.pok[w]; x != 0; x &= x - 1) {
      const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(x));
      if (cp.rule_self[ri] != 0 && !same_owner(cp, f)) continue;
      out.rule = static_cast<std::int64_t>(ri);
      return out;
    }
    if constexpr (kNear) {
      for (Word y = m & ~f.pok[w]; y != 0 && !out.posture_near; y &= y - 1) {
        const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(y));
        out.posture_near = cp.rule_self[ri] == 0 || same_owner(cp, f);
      }
    }
  }
  return out;
}

bool is_icmp(std::uint8_t proto) { return proto == kProtoIcmp || proto == kProtoIcmpV6; }

// Whether a query can take the fast path at all, before its addresses are looked up.
bool fast_shape(const CompiledPolicy& cp, const Request& q) {
  return q.src_attrs == nullptr && q.src.v6 == q.dst.v6 &&
         (cp.proto_column(q.proto) >= 0 || is_icmp(q.proto));
}

const Word* port_row(const CompiledPolicy& cp, const Request& q) {
  if (is_icmp(q.proto)) return cp.all_rules.data();
  return cp
      .port_rows[std::size_t{cp.interval_of[q.port]} * 3 +
                 static_cast<std::size_t>(cp.proto_column(q.proto))]
      .data();
}

const Word* pok_row(const SnapshotData& data, DeviceIndex dev) {
  return data.chunks[dev / kChunk]->pok[dev % kChunk];
}

// A fast decision as check() reports it.
void fill(Decision& out, const CompiledPolicy& cp, const FastResult& r) {
  out.near_misses.clear();
  out.allow = r.rule >= 0;
  if (out.allow) {
    out.reason = Reason::Rule;
    out.rule = cp.rule_refs[static_cast<std::size_t>(r.rule)];
  } else {
    out.reason = r.posture_near ? Reason::PostureFailed : Reason::NoRule;
    out.rule.reset();
  }
}

void prefetch_row(const Word* row, std::size_t words) {
  // The first lines only: a longer row is read sequentially, which the hardware prefetcher
  // follows on its own.
  constexpr std::size_t kLines = 4;
  const auto* p = reinterpret_cast<const char*>(row);
  const std::size_t bytes = std::min(words * sizeof(Word), kLines * 64);
  for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

// The batch pipeline: each query goes through four stages, kStep queries apart, each stage
// loading what the next one reads (address index entry -> slot -> posture-row pointer -> rows),
// so the cache misses of about 4 * kStep queries overlap. `decide(i, fast, result)` receives
// each query in order; fast = false means it must be answered by check().
template <bool kNear, class Decide>
void run_batch(const SnapshotData& data, std::span<const Request> requests, Decide&& decide) {
  const CompiledPolicy& cp = *data.policy;
  constexpr std::size_t kStep = 4;
  constexpr std::size_t kRing = 32;  // > 4 * kStep: a query's stage data lives until decided
  struct Stage {
    bool fast = false;
    std::size_t port_index = 0;
    FastQuery f;
  };
  std::array<Stage, kRing> ring{};
  const std::size_t n = requests.size();
  for (std::size_t t = 0; t < n + 4 * kStep; ++t) {
    if (t < n) {  // 1: shape; address index entries and the port's interval
      const Request& q = requests[t];
      Stage& st = ring[t % kRing];
      st.fast = fast_shape(cp, q);
      if (st.fast) {
        cp.slot_index.prefetch(q.src);
        cp.slot_index.prefetch(q.dst);
        if (!is_icmp(q.proto)) __builtin_prefetch(cp.interval_of.data() + q.port);
      }
    }
    if (t >= kStep && t - kStep < n) {  // 2: slots; the port row's header
      const std::size_t i = t - kStep;
      const Request& q = requests[i];
      Stage& st = ring[i % kRing];
      if (st.fast) {
        const std::uint32_t si = cp.slot_index.find(q.src);
        const std::uint32_t di = cp.slot_index.find(q.dst);
        st.fast = si != SlotIndex::kNone && di != SlotIndex::kNone;
        if (st.fast) {
          st.f.src = &cp.slots[si];
          st.f.dst = &cp.slots[di];
          __builtin_prefetch(st.f.src);
          __builtin_prefetch(st.f.dst);
          if (!is_icmp(q.proto)) {
            st.port_index = std::size_t{cp.interval_of[q.port]} * 3 +
                            static_cast<std::size_t>(cp.proto_column(q.proto));
            __builtin_prefetch(cp.port_rows.data() + st.port_index);
          }
        }
      }
    }
    if (t >= 2 * kStep && t - 2 * kStep < n) {  // 3: selector and port rows; posture pointer
      const std::size_t i = t - 2 * kStep;
      Stage& st = ring[i % kRing];
      if (st.fast) {
        const DeviceIndex dev = st.f.src->device;
        __builtin_prefetch(&data.chunks[dev / kChunk]->pok[dev % kChunk]);
        prefetch_row(st.f.src->src_row, cp.words);
        prefetch_row(st.f.dst->dst_row, cp.words);
        st.f.port =
            is_icmp(requests[i].proto) ? cp.all_rules.data() : cp.port_rows[st.port_index].data();
        prefetch_row(st.f.port, cp.words);
      }
    }
    if (t >= 3 * kStep && t - 3 * kStep < n) {  // 4: posture row
      const std::size_t i = t - 3 * kStep;
      Stage& st = ring[i % kRing];
      if (st.fast) {
        st.f.pok = pok_row(data, st.f.src->device);
        prefetch_row(st.f.pok, cp.words);
      }
    }
    if (t >= 4 * kStep) {  // 5: decide
      const std::size_t i = t - 4 * kStep;
      const Stage& st = ring[i % kRing];
      decide(i, st.fast, st.fast ? fast_match<kNear>(cp, st.f) : FastResult{});
    }
  }
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

  // Fast path: device to device, stored attributes, a port protocol or ICMP.
  if (src.slot != nullptr && dst.slot != nullptr && fast_shape(cp, q)) {
    const FastQuery f{src.slot, dst.slot, pok_row(data, src.slot->device), port_row(cp, q)};
    const FastResult r = fast_match<true>(cp, f);
    fill(out, cp, r);
    if (out.allow || !r.posture_near || !q.explain) return out;
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

namespace postern::engine {

void Snapshot::check_batch(std::span<const Request> requests,
                           std::span<bool> allow) const noexcept {
  const SnapshotData& data = *data_;
  const std::size_t n = std::min(requests.size(), allow.size());
  if (data.policy->allow_all) {
    std::fill_n(allow.begin(), n, true);
    return;
  }
  run_batch<false>(data, requests.first(n), [&](std::size_t i, bool fast, const FastResult& r) {
    allow[i] = fast ? r.rule >= 0 : check(requests[i]).allow;
  });
}

void Snapshot::check_batch(std::span<const Request> requests,
                           std::span<Decision> decisions) const noexcept {
  const SnapshotData& data = *data_;
  const CompiledPolicy& cp = *data.policy;
  const std::size_t n = std::min(requests.size(), decisions.size());
  if (cp.allow_all) {
    for (std::size_t i = 0; i < n; ++i) decisions[i] = check(requests[i]);
    return;
  }
  run_batch<true>(data, requests.first(n), [&](std::size_t i, bool fast, const FastResult& r) {
    // A deny to explain takes check()'s generic path for its near misses.
    if (fast && (r.rule >= 0 || !r.posture_near || !requests[i].explain)) {
      fill(decisions[i], cp, r);
    } else {
      decisions[i] = check(requests[i]);
    }
  });
}

}  // namespace postern::engine
