// Posture predicates over attribute values (spec §5.4-§5.6) and posture rows.
#include <cmath>
#include <sstream>

#include "compiled.hpp"
#include "postern/engine/cmpver.hpp"

namespace postern::engine {
namespace posture = grammar::posture;
using Expiries = std::map<std::string, std::int64_t, std::less<>>;

bool expired(const Expiries* expiries, std::string_view key, std::int64_t now) {
  if (expiries == nullptr) return false;
  const auto e = expiries->find(key);
  return e != expiries->end() && e->second <= now;
}

const AttrValue* lookup_attr(const AttrMap& attrs, const Expiries* expiries, std::string_view key,
                             std::int64_t now) {
  auto it = attrs.find(key);
  if (it == attrs.end() || expired(expiries, key, now)) return nullptr;
  return &it->second;
}

namespace {

// Typed equality: a type mismatch is never equal (spec §5.4 recommendation).
bool same_value(const AttrValue& a, const AttrValue& b, bool version) {
  if (a.index() != b.index()) return false;
  if (const auto* s = std::get_if<std::string>(&a)) {
    const auto& t = std::get<std::string>(b);
    return version ? compare_versions(*s, t) == 0 : *s == t;
  }
  if (const auto* d = std::get_if<double>(&a)) return *d == std::get<double>(b);
  return std::get<bool>(a) == std::get<bool>(b);
}

// -2 = not comparable (type mismatch or unordered type).
int order(const AttrValue& a, const AttrValue& b, bool version) {
  if (a.index() != b.index()) return -2;
  if (const auto* d = std::get_if<double>(&a)) {
    const double e = std::get<double>(b);
    return *d < e ? -1 : (*d > e ? 1 : 0);
  }
  if (version) {
    if (const auto* s = std::get_if<std::string>(&a)) {
      const int c = compare_versions(*s, std::get<std::string>(b));
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
  }
  return -2;
}

}  // namespace

bool predicate_holds(const Predicate& p, const AttrValue* v) {
  using posture::Op;
  if (p.op == Op::NotSet) return v == nullptr;
  if (v == nullptr) return false;  // unset fails every other operator
  switch (p.op) {
    case Op::IsSet:
      return true;
    case Op::Bare:
      return std::holds_alternative<bool>(*v) && std::get<bool>(*v);
    case Op::Eq:
      return !p.operands.empty() && same_value(*v, p.operands[0], p.version);
    case Op::Ne:
      // A type mismatch is false for != too: the comparison is meaningless, not "different".
      return !p.operands.empty() && v->index() == p.operands[0].index() &&
             !same_value(*v, p.operands[0], p.version);
    case Op::In:
    case Op::NotIn: {
      bool hit = false;
      for (const auto& o : p.operands) hit = hit || same_value(*v, o, p.version);
      return p.op == Op::In ? hit : !hit;
    }
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
      if (p.operands.empty()) return false;
      const int c = order(*v, p.operands[0], p.version);
      if (c == -2) return false;
      if (p.op == Op::Lt) return c < 0;
      if (p.op == Op::Le) return c <= 0;
      if (p.op == Op::Gt) return c > 0;
      return c >= 0;
    }
    case Op::NotSet:
      break;
  }
  return false;
}

bool posture_holds(const CompiledPolicy& policy, std::uint32_t posture, const AttrMap& attrs,
                   const Expiries* expiries, std::int64_t now) {
  for (const auto& p : policy.postures[posture].predicates) {
    if (!predicate_holds(p, lookup_attr(attrs, expiries, policy.attr_names[p.attr], now))) {
      return false;
    }
  }
  return true;
}

std::string attr_value_text(const AttrValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return "'" + *s + "'";
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  const double d = std::get<double>(value);
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
    return std::to_string(static_cast<long long>(d));
  }
  std::ostringstream out;
  out.precision(17);
  out << d;
  return out.str();
}

PostureFailure explain_posture(const CompiledPolicy& policy, std::uint32_t posture,
                               const AttrMap& attrs, const Expiries* expiries, std::int64_t now) {
  PostureFailure out;
  const auto& cp = policy.postures[posture];
  out.posture = cp.name;
  for (std::size_t i = 0; i < cp.predicates.size(); ++i) {
    const auto& p = cp.predicates[i];
    const AttrValue* v = lookup_attr(attrs, expiries, policy.attr_names[p.attr], now);
    if (predicate_holds(p, v)) continue;
    const auto& c = cp.conditions[i];
    ConditionFailure f;
    f.attribute = c.attribute;
    f.op = c.op;
    if (c.op == posture::Op::In || c.op == posture::Op::NotIn) {
      f.expected = "[";
      for (std::size_t k = 0; k < c.operands.size(); ++k) {
        if (k > 0) f.expected += ", ";
        f.expected += c.operands[k].text;
      }
      f.expected += "]";
    } else if (c.op == posture::Op::Bare) {
      f.expected = "true";
    } else if (!c.operands.empty()) {
      f.expected = c.operands[0].text;
    }
    if (v != nullptr) f.actual = *v;
    f.span = c.span;
    f.text = posture::to_string(c);
    out.conditions.push_back(std::move(f));
  }
  return out;
}

std::shared_ptr<const Bits> posture_row(const CompiledPolicy& policy,
                                        const std::vector<bool>& posture_ok, RowCache& cache) {
  auto it = cache.find(posture_ok);
  if (it != cache.end()) return it->second;
  auto row = std::make_shared<Bits>(policy.ungated_rules);
  for (std::size_t l = 0; l < policy.lists.size(); ++l) {
    bool ok = false;
    for (auto p : policy.lists[l].postures) ok = ok || posture_ok[p];
    if (!ok) continue;
    const Bits& gated = policy.list_rules[l];
    for (std::size_t w = 0; w < row->size(); ++w) (*row)[w] |= gated[w];
  }
  std::shared_ptr<const Bits> out = std::move(row);
  cache.emplace(posture_ok, out);
  return out;
}

DeviceState evaluate_device(const CompiledPolicy& policy, DeviceIndex device,
                            std::shared_ptr<const AttrMap> attrs,
                            std::shared_ptr<const Expiries> expiries, std::int64_t now,
                            RowCache& cache) {
  DeviceState st;
  st.attributes = std::move(attrs);
  st.expiries = std::move(expiries);
  st.posture_ok.assign(policy.postures.size(), false);
  for (std::uint32_t p = 0; p < policy.postures.size(); ++p) {
    st.posture_ok[p] = posture_holds(policy, p, *st.attributes, st.expiries.get(), now);
  }
  if (policy.device_exempt[device]) {
    static const std::vector<bool> kExemptKey;  // empty key: the all-rules row
    auto it = cache.find(kExemptKey);
    if (it == cache.end()) {
      it = cache.emplace(kExemptKey, std::make_shared<const Bits>(policy.all_rules)).first;
    }
    st.pok_row = it->second;
  } else {
    st.pok_row = posture_row(policy, st.posture_ok, cache);
  }
  if (st.expiries) {
    for (const auto& [key, at] : *st.expiries) {
      if (at > now && (st.next_expiry == 0 || at < st.next_expiry)) st.next_expiry = at;
    }
  }
  return st;
}

}  // namespace postern::engine
