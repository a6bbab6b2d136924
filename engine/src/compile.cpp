// Policy + inventory → CompiledPolicy (spec §3-§5, §7). Selectors are resolved once into
// identity classes (devices that no selector can tell apart) and address sets; rows are rule
// bitsets built column-wise so the cost is the number of (rule, class) matches.
#include <algorithm>
#include <future>
#include <set>
#include <unordered_map>

#include "compiled.hpp"
#include "postern/grammar/posture.hpp"

namespace postern::engine {
namespace ip = grammar::ip;
namespace policy = grammar::policy;
using detail::AddrSet;

namespace {

std::string_view domain_of(std::string_view login) {
  const auto at = login.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : login.substr(at + 1);
}

// Devices that every identity selector treats the same way.
struct IdentityClass {
  bool tagged = false;
  bool external = false;
  std::vector<std::string> tags;
  std::string user;  // untagged only
  std::string role = "member";
  bool shared_user = false;
};

struct Resolver {
  const policy::Ast& ast;
  const Inventory& inv;
  std::vector<IdentityClass> classes;
  // Looked up, never walked in order: hash maps (ordered maps of strings were a tenth of the
  // compile at 100,000 devices). Views are into the shared, unchanging inventory.
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_tag;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_user;  // a user's untagged classes
  std::unordered_map<std::string_view, std::uint32_t> user_index;       // login -> users[] index
  AddrSet routes;         // every approved route, exit routes included (`*` as destination)
  AddrSet subnet_routes;  // without exit routes: `*` as source never means internet hosts
  std::map<std::string, AddrSet> ipset_cache;
  std::set<std::string> ipset_active;
  std::map<std::string, std::vector<std::uint32_t>> sel_cache;

  std::vector<std::uint32_t> all_classes() const {
    std::vector<std::uint32_t> out(classes.size());
    for (std::uint32_t i = 0; i < out.size(); ++i) out[i] = i;
    return out;
  }

  template <class Pred>
  std::vector<std::uint32_t> classes_where(Pred pred) const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < classes.size(); ++i) {
      if (pred(classes[i])) out.push_back(i);
    }
    return out;
  }

  static bool is_member(const IdentityClass& c) {
    return !c.tagged && !c.external && !c.shared_user;
  }

  // Identity classes a selector admits (src or dst), ignoring address parts.
  const std::vector<std::uint32_t>& identity(const policy::Selector& s) {
    const std::string key = std::to_string(static_cast<int>(s.kind)) + "\n" + s.name;
    auto it = sel_cache.find(key);
    if (it != sel_cache.end()) return it->second;
    std::vector<std::uint32_t> out;
    switch (s.kind) {
      case policy::SelectorKind::Wildcard:
        out = all_classes();
        break;
      case policy::SelectorKind::User: {
        auto u = by_user.find(s.name);
        if (u != by_user.end()) out = u->second;
        break;
      }
      case policy::SelectorKind::UserDomain:
        out = classes_where(
            [&](const IdentityClass& c) { return is_member(c) && domain_of(c.user) == s.name; });
        break;
      case policy::SelectorKind::Group: {
        auto g = ast.groups.find(s.name);
        if (g != ast.groups.end()) {
          for (const auto& m : g->second) {
            auto u = by_user.find(m.value);
            if (u != by_user.end()) out.insert(out.end(), u->second.begin(), u->second.end());
          }
        }
        break;
      }
      case policy::SelectorKind::Tag: {
        auto t = by_tag.find(s.name);
        if (t != by_tag.end()) out = t->second;
        break;
      }
      case policy::SelectorKind::Autogroup:
        out = autogroup(s.name);
        break;
      case policy::SelectorKind::Host:
      case policy::SelectorKind::Address:
      case policy::SelectorKind::IpSet:
      case policy::SelectorKind::Service:
        break;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return sel_cache.emplace(key, std::move(out)).first->second;
  }

  std::vector<std::uint32_t> autogroup(const std::string& name) const {
    if (name == "autogroup:member") return classes_where(is_member);
    if (name == "autogroup:tagged") {
      return classes_where([](const IdentityClass& c) { return c.tagged; });
    }
    if (name == "autogroup:shared") {
      return classes_where([](const IdentityClass& c) { return c.external || c.shared_user; });
    }
    if (name == "autogroup:danger-all") return all_classes();
    static const std::map<std::string, std::string, std::less<>> kRoles = {
        {"autogroup:owner", "owner"},
        {"autogroup:admin", "admin"},
        {"autogroup:network-admin", "network-admin"},
        {"autogroup:it-admin", "it-admin"},
        {"autogroup:billing-admin", "billing-admin"},
        {"autogroup:auditor", "auditor"},
    };
    auto r = kRoles.find(name);
    if (r != kRoles.end()) {
      return classes_where(
          [&](const IdentityClass& c) { return is_member(c) && c.role == r->second; });
    }
    return {};  // autogroup:self / internet are handled by the caller; unknown ones match nothing
  }

  AddrSet ipset(const std::string& name) {
    auto it = ipset_cache.find(name);
    if (it != ipset_cache.end()) return it->second;
    AddrSet out;
    auto def = ast.ipsets.find(name);
    if (def == ast.ipsets.end() || ipset_active.count(name) != 0) return out;  // cycle: empty
    ipset_active.insert(name);
    for (const auto& op : def->second) {
      AddrSet target = ipset_target(op.target.value);
      if (op.add) {
        out.add(target);
      } else {
        out.remove(target);
      }
    }
    ipset_active.erase(name);
    ipset_cache.emplace(name, out);
    return out;
  }

  AddrSet ipset_target(const std::string& t) {
    AddrSet s;
    if (t.rfind("ipset:", 0) == 0) return ipset(t);
    if (t == "autogroup:internet") return detail::internet_ranges();
    if (t.rfind("host:", 0) == 0) {
      auto h = ast.host_prefixes.find(t.substr(5));
      if (h != ast.host_prefixes.end()) s.add(h->second);
      return s;
    }
    if (auto r = ip::parse_range(t)) {
      s.add_range(r->first, r->last);
      return s;
    }
    if (auto p = ip::parse_prefix(t)) {
      s.add(*p);
      return s;
    }
    auto h = ast.host_prefixes.find(t);
    if (h != ast.host_prefixes.end()) s.add(h->second);
    return s;
  }

  // The address part of a selector.
  AddrSet addresses(const policy::Selector& s, bool as_src) {
    AddrSet out;
    switch (s.kind) {
      case policy::SelectorKind::Address:
        out.add(s.prefix);
        break;
      case policy::SelectorKind::Host: {
        auto h = ast.host_prefixes.find(s.name);
        if (h != ast.host_prefixes.end()) out.add(h->second);
        break;
      }
      case policy::SelectorKind::IpSet:
        out = ipset(s.name);
        break;
      case policy::SelectorKind::Wildcard:
        out = detail::tailnet_ranges();
        out.add(as_src ? subnet_routes : routes);
        break;
      case policy::SelectorKind::Autogroup:
        if (s.name == "autogroup:internet") out = detail::internet_ranges();
        break;
      default:
        break;
    }
    return out;
  }
};

struct RuleDraft {
  CompiledRule rule;
  std::vector<std::uint32_t> src_classes;  // identity classes
  std::vector<std::uint32_t> dst_classes;
};

std::uint32_t intern_attr(CompiledPolicy& cp, const std::string& key) {
  auto it = cp.attr_ids.find(key);
  if (it != cp.attr_ids.end()) return it->second;
  const auto id = static_cast<AttrId>(cp.attr_names.size());
  cp.attr_names.push_back(key);
  cp.attr_ids.emplace(key, id);
  cp.attr_to_postures.emplace_back();
  return id;
}

void compile_postures(CompiledPolicy& cp, const policy::Ast& ast) {
  for (const auto& [name, def] : ast.postures) {
    CompiledPosture p;
    p.name = name;
    const auto id = static_cast<std::uint32_t>(cp.postures.size());
    for (const auto& c : def.conditions) {
      Predicate pred;
      pred.attr = intern_attr(cp, c.attribute);
      pred.op = c.op;
      pred.version = grammar::posture::is_version_attribute(c.attribute);
      for (const auto& o : c.operands) pred.operands.push_back(o.value);
      auto& deps = cp.attr_to_postures[pred.attr];
      if (deps.empty() || deps.back() != id) deps.push_back(id);
      p.predicates.push_back(std::move(pred));
      p.conditions.push_back(c);
    }
    cp.posture_ids.emplace(name, id);
    cp.postures.push_back(std::move(p));
  }
}

std::int32_t list_id(CompiledPolicy& cp, std::map<std::vector<std::uint32_t>, std::int32_t>& ids,
                     const std::vector<policy::Text>& names) {
  std::vector<std::uint32_t> ps;
  for (const auto& n : names) {
    auto it = cp.posture_ids.find(n.value);
    if (it != cp.posture_ids.end()) ps.push_back(it->second);
  }
  std::sort(ps.begin(), ps.end());
  ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  auto it = ids.find(ps);
  if (it != ids.end()) return it->second;
  const auto id = static_cast<std::int32_t>(cp.lists.size());
  cp.lists.push_back(PostureList{ps});
  ids.emplace(ps, id);
  return id;
}

void set_posture(CompiledPolicy& cp, std::map<std::vector<std::uint32_t>, std::int32_t>& ids,
                 const policy::Ast& ast, const std::optional<std::vector<policy::Text>>& own,
                 CompiledRule& rule) {
  if (own.has_value()) {
    // An explicit list replaces the default; an empty one means no requirement.
    if (!own->empty()) rule.posture_list = list_id(cp, ids, *own);
    return;
  }
  if (ast.default_src_posture.has_value() && !ast.default_src_posture->empty()) {
    rule.posture_list = list_id(cp, ids, *ast.default_src_posture);
    rule.posture_from_default = true;
  }
}

void add_src(Resolver& r, const std::vector<policy::Selector>& src, RuleDraft& d) {
  for (const auto& s : src) {
    if (s.kind == policy::SelectorKind::Wildcard) d.rule.src_all_devices = true;
    if (s.kind == policy::SelectorKind::Autogroup && s.name == "autogroup:danger-all") {
      d.rule.src_all_devices = true;
      d.rule.src_any_address = true;
    }
    const auto& ids = r.identity(s);
    d.src_classes.insert(d.src_classes.end(), ids.begin(), ids.end());
    d.rule.src_addrs.add(r.addresses(s, true));
  }
  std::sort(d.src_classes.begin(), d.src_classes.end());
  d.src_classes.erase(std::unique(d.src_classes.begin(), d.src_classes.end()), d.src_classes.end());
}

void add_dst(Resolver& r, const policy::Selector& s, RuleDraft& d) {
  if (s.kind == policy::SelectorKind::Wildcard) d.rule.dst_all_devices = true;
  if (s.kind == policy::SelectorKind::Autogroup && s.name == "autogroup:self") {
    d.rule.dst_self = true;
    auto ids = r.classes_where(Resolver::is_member);
    d.dst_classes.insert(d.dst_classes.end(), ids.begin(), ids.end());
    return;
  }
  if (s.kind == policy::SelectorKind::Autogroup && s.name == "autogroup:danger-all") return;
  const auto& ids = r.identity(s);
  d.dst_classes.insert(d.dst_classes.end(), ids.begin(), ids.end());
  d.rule.dst_addrs.add(r.addresses(s, false));
}

void finish_dst(RuleDraft& d) {
  std::sort(d.dst_classes.begin(), d.dst_classes.end());
  d.dst_classes.erase(std::unique(d.dst_classes.begin(), d.dst_classes.end()), d.dst_classes.end());
}

void build_slots(CompiledPolicy& cp, const std::vector<RuleDraft>& drafts,
                 std::size_t identity_count) {
  const std::size_t words = cp.words;
  // Identity rows.
  std::vector<Bits> id_src(identity_count, Bits(words, 0));
  std::vector<Bits> id_dst(identity_count, Bits(words, 0));
  std::vector<std::size_t> src_addr_rules, dst_addr_rules;
  for (std::size_t ri = 0; ri < drafts.size(); ++ri) {
    const auto& d = drafts[ri];
    for (auto c : d.src_classes) set_bit(id_src[c], ri);
    if (!d.rule.has_via) {
      for (auto c : d.dst_classes) set_bit(id_dst[c], ri);
    }
    if (!d.rule.src_all_devices && !d.rule.src_addrs.empty()) src_addr_rules.push_back(ri);
    if (!d.rule.dst_all_devices && !d.rule.has_via && !d.rule.dst_addrs.empty()) {
      dst_addr_rules.push_back(ri);
    }
  }
  // Slots: one per device address; classes deduplicated by (identity, extra address rules).
  std::map<std::pair<std::uint32_t, std::vector<std::size_t>>, std::uint32_t> src_ids, dst_ids;
  std::vector<std::pair<ip::Address, std::uint32_t>> index_entries;
  auto class_for =
      [&](std::map<std::pair<std::uint32_t, std::vector<std::size_t>>, std::uint32_t>& ids,
          std::vector<Bits>& rows, const std::vector<Bits>& id_rows, std::uint32_t identity,
          std::vector<std::size_t> extra) {
        auto key = std::make_pair(identity, extra);
        auto it = ids.find(key);
        if (it != ids.end()) return it->second;
        Bits row = id_rows[identity];
        for (auto r : extra) set_bit(row, r);
        const auto id = static_cast<std::uint32_t>(rows.size());
        rows.push_back(std::move(row));
        ids.emplace(std::move(key), id);
        return id;
      };
  for (DeviceIndex dev = 0; dev < cp.inventory.devices.size(); ++dev) {
    for (const auto& addr : cp.inventory.devices[dev].addresses) {
      std::vector<std::size_t> src_extra, dst_extra;
      for (auto r : src_addr_rules) {
        if (drafts[r].rule.src_addrs.contains(addr)) src_extra.push_back(r);
      }
      for (auto r : dst_addr_rules) {
        if (drafts[r].rule.dst_addrs.contains(addr)) dst_extra.push_back(r);
      }
      const auto identity = cp.device_identity[dev];
      Slot slot;
      slot.device = dev;
      slot.src_class = class_for(src_ids, cp.src_class_rows, id_src, identity, src_extra);
      slot.dst_class = class_for(dst_ids, cp.dst_class_rows, id_dst, identity, dst_extra);
      index_entries.emplace_back(addr, static_cast<std::uint32_t>(cp.slots.size()));
      cp.slots.push_back(slot);
    }
  }
  cp.slot_index.build(index_entries);
}

void build_port_rows(CompiledPolicy& cp) {
  std::vector<std::uint32_t> bounds{0};
  for (const auto& r : cp.rules) {
    for (const auto& pr : r.ports) {
      bounds.push_back(pr.first);
      if (pr.last < 65535) bounds.push_back(std::uint32_t{pr.last} + 1);
    }
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  cp.interval_of.assign(65536, 0);
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const std::uint32_t end = i + 1 < bounds.size() ? bounds[i + 1] : 65536;
    for (std::uint32_t p = bounds[i]; p < end; ++p) {
      cp.interval_of[p] = static_cast<std::uint32_t>(i);
    }
  }
  cp.port_rows.assign(bounds.size() * 3, Bits(cp.words, 0));
  for (std::size_t ri = 0; ri < cp.rules.size(); ++ri) {
    const auto& r = cp.rules[ri];
    bool cols[3] = {r.default_protos || r.proto == kProtoTcp,
                    r.default_protos || r.proto == kProtoUdp,
                    !r.default_protos && r.proto == kProtoSctp};
    for (const auto& pr : r.ports) {
      for (std::uint32_t i = cp.interval_of[pr.first]; i <= cp.interval_of[pr.last]; ++i) {
        for (std::size_t c = 0; c < 3; ++c) {
          if (cols[c]) set_bit(cp.port_rows[i * 3 + c], ri);
        }
      }
    }
  }
}

}  // namespace

void SlotIndex::build(const std::vector<std::pair<ip::Address, std::uint32_t>>& entries) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> v4;
  for (const auto& [a, slot] : entries) {
    if (a.v6) {
      v6_.emplace(std::string(reinterpret_cast<const char*>(a.bytes.data()), 16), slot);
    } else {
      v4.emplace_back(detail::v4_value(a), slot);
    }
  }
  if (v4.empty()) return;
  std::uint32_t lo = v4[0].first, hi = v4[0].first;
  for (const auto& e : v4) {
    lo = std::min(lo, e.first);
    hi = std::max(hi, e.first);
  }
  if (std::uint64_t{hi} - lo <= 4 * std::uint64_t{v4.size()} + 1024) {
    v4_is_dense_ = true;
    v4_base_ = lo;
    v4_dense_.assign(std::size_t{hi - lo} + 1, kNone);
    for (const auto& [k, v] : v4) v4_dense_[k - lo] = v;
    return;
  }
  std::size_t cap = 16;
  while (cap < v4.size() * 2) cap <<= 1;
  v4_keys_.assign(cap, 0);
  v4_vals_.assign(cap, kNone);
  v4_mask_ = static_cast<std::uint32_t>(cap - 1);
  for (const auto& [k, v] : v4) {
    auto i = static_cast<std::uint32_t>((k * 0x9E3779B97F4A7C15ULL) >> 32) & v4_mask_;
    while (v4_vals_[i] != kNone && v4_keys_[i] != k) i = (i + 1) & v4_mask_;
    v4_keys_[i] = k;
    v4_vals_[i] = v;
  }
}

std::uint32_t SlotIndex::find(const ip::Address& a) const noexcept {
  if (a.v6) {
    if (v6_.empty()) return kNone;
    auto it = v6_.find(std::string(reinterpret_cast<const char*>(a.bytes.data()), 16));
    return it == v6_.end() ? kNone : it->second;
  }
  const std::uint32_t k = detail::v4_value(a);
  if (v4_is_dense_) {
    const std::uint32_t off = k - v4_base_;
    return k >= v4_base_ && off < v4_dense_.size() ? v4_dense_[off] : kNone;
  }
  if (v4_vals_.empty()) return kNone;
  auto i = static_cast<std::uint32_t>((k * 0x9E3779B97F4A7C15ULL) >> 32) & v4_mask_;
  while (v4_vals_[i] != kNone) {
    if (v4_keys_[i] == k) return v4_vals_[i];
    i = (i + 1) & v4_mask_;
  }
  return kNone;
}

namespace {

// Tailscale's default policy, applied when the file has neither `acls` nor `grants`: one ACL
// `*` -> `*:*`, so it reaches exactly what `*` reaches (tailnet addresses and approved routes).
policy::AclRule default_policy_rule() {
  policy::AclRule rule;
  rule.action.value = "accept";
  rule.src.push_back(policy::Selector{policy::SelectorKind::Wildcard, "*", {}, {"*", {}}});
  policy::Destination all;
  all.selector = policy::Selector{policy::SelectorKind::Wildcard, "*", {}, {"*", {}}};
  all.ports = {policy::PortRange{0, 65535}};
  all.source = policy::Text{"*:*", {}};
  rule.dst.push_back(std::move(all));
  return rule;
}

}  // namespace

std::shared_ptr<const CompiledPolicy> compile_policy(const grammar::SourceFile& file,
                                                     const policy::Ast& ast,
                                                     const Inventory& inventory) {
  return compile_policy(file, ast, std::make_shared<const Inventory>(inventory));
}

std::shared_ptr<const CompiledPolicy> compile_policy(const grammar::SourceFile& file,
                                                     const policy::Ast& ast,
                                                     std::shared_ptr<const Inventory> tailnet) {
  const Inventory& inventory = *tailnet;
  auto cp = std::make_shared<CompiledPolicy>(std::move(tailnet));
  cp->file = file;
  // The name index depends on the devices alone: built beside the rest of the compile (a
  // tenth of a second at 100,000 devices).
  auto names = std::async(std::launch::async, [&inventory] {
    return std::make_shared<const DeviceNameIndex>(inventory);
  });
  cp->default_policy = !ast.has_acls && !ast.has_grants;
  compile_postures(*cp, ast);

  Resolver r{ast, cp->inventory, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  r.user_index.reserve(inventory.users.size());
  for (std::size_t i = 0; i < inventory.users.size(); ++i) {
    r.user_index.emplace(inventory.users[i].login, static_cast<std::uint32_t>(i));
  }
  // Identity classes.
  std::unordered_map<std::string, std::uint32_t> class_ids;
  std::unordered_map<std::string_view, std::uint32_t> owner_ids;
  class_ids.reserve(inventory.users.size() + 64);
  owner_ids.reserve(inventory.users.size());
  for (const auto& dev : inventory.devices) {
    IdentityClass c;
    c.tagged = dev.tagged();
    c.external = dev.is_external;
    std::string key;
    if (c.tagged) {
      c.tags = dev.tags;
      std::sort(c.tags.begin(), c.tags.end());
      c.tags.erase(std::unique(c.tags.begin(), c.tags.end()), c.tags.end());
      key = "T";
      for (const auto& t : c.tags) key += "\n" + t;
    } else {
      c.user = dev.user;
      key = "U\n" + dev.user;
      auto u = r.user_index.find(dev.user);
      if (u != r.user_index.end()) {
        c.role = inventory.users[u->second].role;
        c.shared_user = inventory.users[u->second].shared;
      }
    }
    if (c.external) key += "\nX";
    auto [it, fresh] = class_ids.emplace(key, static_cast<std::uint32_t>(r.classes.size()));
    if (fresh) {
      if (c.tagged) {
        for (const auto& t : c.tags) r.by_tag[t].push_back(it->second);
      } else {
        r.by_user[c.user].push_back(it->second);
      }
      r.classes.push_back(c);
    }
    cp->device_identity.push_back(it->second);
    cp->device_exempt.push_back(dev.is_external);
    if (c.tagged || c.external) {
      cp->device_owner.push_back(CompiledPolicy::kNoOwner);
    } else {
      auto o = owner_ids.emplace(dev.user, static_cast<std::uint32_t>(owner_ids.size())).first;
      cp->device_owner.push_back(o->second);
    }
    for (const auto& route : dev.enabled_routes) {
      r.routes.add(route);
      if (route.length > 0) r.subnet_routes.add(route);
    }
  }
  cp->all_routes = r.subnet_routes;

  // Rules: one per ACL destination entry, one per grant ip item (self destinations apart).
  std::vector<RuleDraft> drafts;
  std::map<std::vector<std::uint32_t>, std::int32_t> list_ids;
  const std::vector<policy::AclRule> default_acls =
      cp->default_policy ? std::vector<policy::AclRule>{default_policy_rule()}
                         : std::vector<policy::AclRule>{};
  for (const auto& acl : cp->default_policy ? default_acls : ast.acls) {
    RuleDraft base;
    base.rule.ref = RuleRef{RuleKind::Acl, acl.index, acl.span, file.line_col(acl.span.begin).line};
    if (acl.proto.number.has_value()) {
      base.rule.default_protos = false;
      base.rule.proto = *acl.proto.number;
    }
    set_posture(*cp, list_ids, ast, acl.src_posture, base.rule);
    add_src(r, acl.src, base);
    for (const auto& d : acl.dst) {
      RuleDraft draft = base;
      draft.rule.ports = d.ports;
      add_dst(r, d.selector, draft);
      finish_dst(draft);
      drafts.push_back(std::move(draft));
    }
  }
  for (const auto& g : ast.grants) {
    RuleDraft base;
    base.rule.ref = RuleRef{RuleKind::Grant, g.index, g.span, file.line_col(g.span.begin).line};
    set_posture(*cp, list_ids, ast, g.src_posture, base.rule);
    add_src(r, g.src, base);
    if (!g.via.empty()) {
      base.rule.has_via = true;
      for (const auto& v : g.via) {
        for (const auto& dev : inventory.devices) {
          if (std::find(dev.tags.begin(), dev.tags.end(), v.value) == dev.tags.end()) continue;
          for (const auto& route : dev.enabled_routes) base.rule.via_routes.add(route);
        }
      }
    }
    for (int self = 0; self < 2; ++self) {
      RuleDraft dst = base;
      bool any = false;
      for (const auto& s : g.dst) {
        const bool is_self =
            s.kind == policy::SelectorKind::Autogroup && s.name == "autogroup:self";
        if (is_self != (self == 1)) continue;
        add_dst(r, s, dst);
        any = true;
      }
      if (!any) continue;
      finish_dst(dst);
      for (const auto& item : g.ip) {
        RuleDraft draft = dst;
        if (item.proto.number.has_value()) {
          draft.rule.default_protos = false;
          draft.rule.proto = *item.proto.number;
        }
        draft.rule.ports = item.ports;
        drafts.push_back(std::move(draft));
      }
    }
  }

  cp->words = (drafts.size() + 63) / 64;
  cp->ungated_rules.assign(cp->words, 0);
  cp->all_rules.assign(cp->words, 0);
  cp->list_rules.assign(cp->lists.size(), Bits(cp->words, 0));
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    set_bit(cp->all_rules, i);
    if (drafts[i].rule.posture_list < 0) {
      set_bit(cp->ungated_rules, i);
    } else {
      set_bit(cp->list_rules[static_cast<std::size_t>(drafts[i].rule.posture_list)], i);
    }
  }
  build_slots(*cp, drafts, r.classes.size());
  cp->rules.reserve(drafts.size());
  for (auto& d : drafts) {
    d.rule.src_identity_classes = std::move(d.src_classes);
    cp->rules.push_back(std::move(d.rule));
  }
  build_port_rows(*cp);
  for (auto& slot : cp->slots) {
    slot.src_row = cp->src_class_rows[slot.src_class].data();
    slot.dst_row = cp->dst_class_rows[slot.dst_class].data();
  }
  for (const auto& rule : cp->rules) {
    cp->rule_self.push_back(rule.dst_self ? 1 : 0);
    cp->rule_refs.push_back(rule.ref);
  }
  cp->names = names.get();
  return cp;
}

SnapshotData initial_state(std::shared_ptr<const CompiledPolicy> policy, std::int64_t now,
                           RowCache& cache) {
  SnapshotData data;
  data.policy = policy;
  data.now = now;
  const auto& devices = policy->inventory.devices;
  for (std::size_t base = 0; base < devices.size(); base += kChunk) {
    auto chunk = std::make_shared<DeviceChunk>();
    for (std::size_t i = base; i < std::min(devices.size(), base + kChunk); ++i) {
      const auto& dev = devices[i];
      // The loaded inventory's maps, shared (not copied) until apply() changes a device.
      std::shared_ptr<const AttrMap> attrs(policy->inventory_owner, &dev.attributes);
      std::shared_ptr<const Expiries> exp;
      if (!dev.expiries.empty())
        exp = std::shared_ptr<const Expiries>(policy->inventory_owner, &dev.expiries);
      chunk->states.push_back(evaluate_device(*policy, static_cast<DeviceIndex>(i),
                                              std::move(attrs), std::move(exp), now, cache));
      chunk->refresh(i - base);
    }
    data.chunks.push_back(std::move(chunk));
  }
  return data;
}

}  // namespace postern::engine
