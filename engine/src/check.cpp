// Snapshot::check: the decision function of spec §7.2-§7.4.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
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
  bool masked = false;         // visit only the words set in `mask` (RowMasks)
  Word mask = 0;
};

struct FastResult {
  std::int64_t rule = -1;     // the deciding rule, -1 = deny
  bool posture_near = false;  // (run_batch<true> and check() only) some rule fails only by posture
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
  // Word w in increasing order; true once decided.
  auto visit = [&](std::size_t w) {
    const Word m = s[w] & d[w] & f.port[w];
    if (m == 0) return false;
    for (Word x = m & f.pok[w]; x != 0; x &= x - 1) {
      const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(x));
      if (cp.rule_self[ri] != 0 && !same_owner(cp, f)) continue;
      out.rule = static_cast<std::int64_t>(ri);
      return true;
    }
    if constexpr (kNear) {
      for (Word y = m & ~f.pok[w]; y != 0 && !out.posture_near; y &= y - 1) {
        const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(y));
        out.posture_near = cp.rule_self[ri] == 0 || same_owner(cp, f);
      }
    }
    return false;
  };
  if (f.masked) {
    for (Word wm = f.mask; wm != 0; wm &= wm - 1) {
      if (visit(static_cast<std::size_t>(std::countr_zero(wm)))) return out;
    }
  } else {
    for (std::size_t w = 0; w < cp.words; ++w) {
      if (visit(w)) return out;
    }
  }
  return out;
}

// The allow-only form: any admitting rule will do, so the posture row joins the AND and the
// words go four at a time as two 128-bit vectors (one branch per block).
using Pair = Word __attribute__((vector_size(16)));

Pair load_pair(const Word* p) {
  Pair v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool fast_allows(const CompiledPolicy& cp, const FastQuery& f) {
  const Word* s = f.src->src_row;
  const Word* d = f.dst->dst_row;
  const Word* p = f.port;
  const Word* k = f.pok;
  auto admits = [&](std::size_t w, Word m) {
    for (; m != 0; m &= m - 1) {
      const std::size_t ri = w * 64 + static_cast<std::size_t>(std::countr_zero(m));
      if (cp.rule_self[ri] == 0 || same_owner(cp, f)) return true;
    }
    return false;
  };
  std::size_t w = 0;
  for (; w + 4 <= cp.words; w += 4) {
    const Pair lo = load_pair(s + w) & load_pair(d + w) & load_pair(p + w) & load_pair(k + w);
    const Pair hi =
        load_pair(s + w + 2) & load_pair(d + w + 2) & load_pair(p + w + 2) & load_pair(k + w + 2);
    const Pair any = lo | hi;
    if ((any[0] | any[1]) == 0) continue;
    if (admits(w, lo[0]) || admits(w + 1, lo[1]) || admits(w + 2, hi[0]) || admits(w + 3, hi[1]))
      return true;
  }
  for (; w < cp.words; ++w) {
    if (admits(w, s[w] & d[w] & p[w] & k[w])) return true;
  }
  return false;
}

// The words worth visiting (RowMasks), when the snapshot has them.
void set_mask(const SnapshotData& data, FastQuery& f, std::size_t port_index, bool icmp) {
  const RowMasks* rm = data.masks.get();
  if (rm == nullptr) return;
  f.masked = true;
  f.mask = rm->src[f.src->src_class] & rm->dst[f.dst->dst_class] &
           (icmp ? ~Word{0} : rm->port[port_index]);
}

bool is_icmp(std::uint8_t proto) { return proto == kProtoIcmp || proto == kProtoIcmpV6; }

// Whether a query can take the fast path at all, before its addresses are looked up.
bool fast_shape(const CompiledPolicy& cp, const Request& q) {
  return q.src_attrs == nullptr && q.src.v6 == q.dst.v6 &&
         (cp.proto_column(q.proto) >= 0 || is_icmp(q.proto));
}

std::size_t port_index(const CompiledPolicy& cp, const Request& q) {
  if (is_icmp(q.proto)) return 0;
  return std::size_t{cp.interval_of[q.port]} * 3 +
         static_cast<std::size_t>(cp.proto_column(q.proto));
}

const Word* port_row(const CompiledPolicy& cp, const Request& q, std::size_t index) {
  return is_icmp(q.proto) ? cp.all_rules.data() : cp.port_rows[index].data();
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

// The first cache lines of a row (a longer scan is sequential, which the hardware prefetcher
// follows on its own).
void prefetch_row(const Word* row, std::size_t words) {
  const std::size_t lines = std::min<std::size_t>((words + 7) / 8, 4);
  for (std::size_t l = 0; l < lines; ++l) __builtin_prefetch(row + l * 8);
}

// The batch pipeline: each query goes through four stages before it is decided, each stage
// loading what the next one reads (address index entry -> slot -> posture-row pointer -> rows),
// so the cache misses of the next kDecide queries overlap. The index entry (a large, sparsely
// touched array) gets the longest lead. `decide(i, fast, result)` receives each query in
// order; fast = false means it must be answered by check().
template <bool kNear, class Decide>
void run_batch(const SnapshotData& data, std::span<const Request> requests, Decide&& decide) {
  const CompiledPolicy& cp = *data.policy;
  constexpr std::size_t kFind = 8;      // after the index prefetch: find, slot prefetch
  constexpr std::size_t kRows = 12;     // slot read: rows and the posture-row pointer
  constexpr std::size_t kPosture = 14;  // posture row
  constexpr std::size_t kDecide = 16;
  constexpr std::size_t kRing = 32;  // > kDecide: a query's stage data lives until decided
  struct Stage {
    bool fast = false;
    std::size_t port_index = 0;
    FastQuery f;
  };
  std::array<Stage, kRing> ring{};
  const std::size_t n = requests.size();
  for (std::size_t t = 0; t < n + kDecide; ++t) {
    if (t < n) {  // shape; address index entries and the port's interval
      const Request& q = requests[t];
      Stage& st = ring[t % kRing];
      st.fast = fast_shape(cp, q);
      if (st.fast) {
        cp.slot_index.prefetch(q.src);
        cp.slot_index.prefetch(q.dst);
        if (!is_icmp(q.proto)) __builtin_prefetch(cp.interval_of.data() + q.port);
      }
    }
    if (t >= kFind && t - kFind < n) {  // slots; the port row's header
      const std::size_t i = t - kFind;
      const Request& q = requests[i];
      Stage& st = ring[i % kRing];
      if (st.fast) {
        const std::uint32_t si = cp.slot_index.find_inline(q.src);
        const std::uint32_t di = cp.slot_index.find_inline(q.dst);
        st.fast = si != SlotIndex::kNone && di != SlotIndex::kNone;
        if (st.fast) {
          st.f = FastQuery{&cp.slots[si], &cp.slots[di], nullptr, nullptr, false, 0};
          __builtin_prefetch(st.f.src);
          __builtin_prefetch(st.f.dst);
          st.port_index = port_index(cp, q);
          if (!is_icmp(q.proto)) __builtin_prefetch(cp.port_rows.data() + st.port_index);
        }
      }
    }
    if (t >= kRows && t - kRows < n) {  // selector and port rows; posture-row pointer
      const std::size_t i = t - kRows;
      Stage& st = ring[i % kRing];
      if (st.fast) {
        const DeviceIndex dev = st.f.src->device;
        __builtin_prefetch(&data.chunks[dev / kChunk]->pok[dev % kChunk]);
        st.f.port = port_row(cp, requests[i], st.port_index);
        if constexpr (kNear) set_mask(data, st.f, st.port_index, is_icmp(requests[i].proto));
        prefetch_row(st.f.src->src_row, cp.words);
        prefetch_row(st.f.dst->dst_row, cp.words);
        prefetch_row(st.f.port, cp.words);
      }
    }
    if (t >= kPosture && t - kPosture < n) {  // posture row
      const std::size_t i = t - kPosture;
      Stage& st = ring[i % kRing];
      if (st.fast) {
        st.f.pok = pok_row(data, st.f.src->device);
        prefetch_row(st.f.pok, cp.words);
      }
    }
    if (t >= kDecide) {
      const std::size_t i = t - kDecide;
      const Stage& st = ring[i % kRing];
      FastResult r;
      if (st.fast) {
        if constexpr (kNear) {
          r = fast_match<true>(cp, st.f);
        } else {
          r.rule = fast_allows(cp, st.f) ? 0 : -1;  // allow-only: not the deciding rule
        }
      }
      decide(i, st.fast, r);
    }
  }
}

}  // namespace

namespace {
// Every rule of the compiled policy, first match wins (Snapshot::check minus the default-policy
// relabelling).
Decision check_rules(const SnapshotData& data, const Request& q) noexcept;
}  // namespace

Decision Snapshot::check(const Request& q) const noexcept {
  const SnapshotData& data = *data_;
  const CompiledPolicy& cp = *data.policy;
  Decision out = check_rules(data, q);
  if (cp.default_policy && out.allow) {
    out.reason = Reason::AllowAll;  // the implicit `*` -> `*:*`, not a rule of the file
    out.rule.reset();
  }
  return out;
}

namespace {
Decision check_rules(const SnapshotData& data, const Request& q) noexcept {
  const CompiledPolicy& cp = *data.policy;
  Decision out;
  if (q.src.v6 != q.dst.v6) return out;  // families never mix (§7.3)

  const std::uint32_t si = cp.slot_index.find(q.src);
  const std::uint32_t di = cp.slot_index.find(q.dst);
  Endpoint src{&q.src, si == SlotIndex::kNone ? nullptr : &cp.slots[si]};
  Endpoint dst{&q.dst, di == SlotIndex::kNone ? nullptr : &cp.slots[di]};

  // Fast path: device to device, stored attributes, a port protocol or ICMP.
  if (src.slot != nullptr && dst.slot != nullptr && fast_shape(cp, q)) {
    const std::size_t pi = port_index(cp, q);
    FastQuery f{src.slot, dst.slot, pok_row(data, src.slot->device), port_row(cp, q, pi)};
    set_mask(data, f, pi, is_icmp(q.proto));
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
}  // namespace

}  // namespace postern::engine

namespace postern::engine {

void Snapshot::check_batch(std::span<const Request> requests,
                           std::span<bool> allow) const noexcept {
  const SnapshotData& data = *data_;
  const std::size_t n = std::min(requests.size(), allow.size());
  run_batch<false>(data, requests.first(n), [&](std::size_t i, bool fast, const FastResult& r) {
    allow[i] = fast ? r.rule >= 0 : check(requests[i]).allow;
  });
}

void Snapshot::check_batch(std::span<const Request> requests,
                           std::span<Decision> decisions) const noexcept {
  const SnapshotData& data = *data_;
  const CompiledPolicy& cp = *data.policy;
  const std::size_t n = std::min(requests.size(), decisions.size());
  if (cp.default_policy) {
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
