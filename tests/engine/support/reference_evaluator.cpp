// The reference evaluator: spec policy-language.md §7.2 read literally, one rule at a time.
#include "reference_evaluator.hpp"

#include <algorithm>
#include <cstddef>

namespace postern::test {
namespace ip = grammar::ip;
namespace policy = grammar::policy;
namespace posture = grammar::posture;
using engine::AttrValue;
using engine::Device;

namespace {

constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIcmpV6 = 58;
constexpr std::uint8_t kSctp = 132;
constexpr int kMaxIpsetDepth = 32;

ip::Prefix prefix(std::string_view text) { return *ip::parse_prefix(text); }

bool in_any(std::initializer_list<std::string_view> prefixes, const ip::Address& address) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return ip::contains(prefix(p), address); });
}

// 100.64.0.0/10 without Tailscale's reserved 100.115.92.0/23, and fd7a:115c:a1e0::/48 (§3.2).
bool in_tailnet_range(const ip::Address& address) {
  if (address.v6) return ip::contains(prefix("fd7a:115c:a1e0::/48"), address);
  return ip::contains(prefix("100.64.0.0/10"), address) &&
         !ip::contains(prefix("100.115.92.0/23"), address);
}

// autogroup:internet (§3.3): public IPv4 minus the private and CGNAT blocks, and 2000::/3.
bool in_internet(const ip::Address& address) {
  if (address.v6) return ip::contains(prefix("2000::/3"), address);
  return !in_any(
      {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"},
      address);
}

bool port_in(const std::vector<policy::PortRange>& ranges, std::uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const policy::PortRange& r) { return r.first <= port && port <= r.last; });
}

bool all_ports(const std::vector<policy::PortRange>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [](const policy::PortRange& r) { return r.first == 0 && r.last == 65535; });
}

bool is_icmp(std::uint8_t proto) { return proto == kIcmp || proto == kIcmpV6; }

// §7.3 for everything but the ICMP address-pair rule.
bool proto_and_port_match(const std::optional<std::uint8_t>& rule_proto,
                          const std::vector<policy::PortRange>& ports, std::uint8_t proto,
                          std::uint16_t port) {
  const bool proto_ok =
      rule_proto ? *rule_proto == proto
                 : (proto == kTcp || proto == kUdp || proto == kIcmp || proto == kIcmpV6);
  if (!proto_ok) return false;
  if (proto == kTcp || proto == kUdp || proto == kSctp) return port_in(ports, port);
  if (is_icmp(proto)) return true;
  return all_ports(ports);
}

const engine::User* find_user(const engine::Inventory& inventory, const std::string& login) {
  for (const auto& user : inventory.users) {
    if (user.login == login) return &user;
  }
  return nullptr;
}

// A device shared into this tailnet from another (§5.7, autogroup:shared).
bool shared_in(const engine::Inventory& inventory, const Device& device) {
  if (device.is_external) return true;
  const auto* user = find_user(inventory, device.user);
  return !device.tagged() && user != nullptr && user->shared;
}

// The user identity of a device for policy purposes: none when tagged (§7.1).
std::optional<std::string> identity(const Device& device) {
  if (device.tagged() || device.user.empty()) return std::nullopt;
  return device.user;
}

// A direct member's untagged device; users missing from `users` are plain members.
bool member_device(const engine::Inventory& inventory, const Device& device) {
  return identity(device).has_value() && !shared_in(inventory, device);
}

std::string role_of(const engine::Inventory& inventory, const Device& device) {
  const auto* user = find_user(inventory, device.user);
  return user == nullptr ? "member" : user->role;
}

bool same_value(const AttrValue& value, const posture::Literal& literal, bool version) {
  if (value.index() != literal.value.index()) return false;
  if (const auto* s = std::get_if<std::string>(&value)) {
    const auto& t = std::get<std::string>(literal.value);
    return version ? reference_compare_versions(*s, t) == 0 : *s == t;
  }
  if (const auto* d = std::get_if<double>(&value)) return *d == std::get<double>(literal.value);
  return std::get<bool>(value) == std::get<bool>(literal.value);
}

}  // namespace

int reference_compare_versions(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    // A run of non-digits, compared byte-wise.
    std::size_t i2 = i;
    std::size_t j2 = j;
    while (i2 < a.size() && !digit(a[i2])) ++i2;
    while (j2 < b.size() && !digit(b[j2])) ++j2;
    const std::string_view text_a = a.substr(i, i2 - i);
    const std::string_view text_b = b.substr(j, j2 - j);
    if (text_a != text_b) {
      // Compare as unsigned bytes.
      const auto n = std::min(text_a.size(), text_b.size());
      for (std::size_t k = 0; k < n; ++k) {
        const auto x = static_cast<unsigned char>(text_a[k]);
        const auto y = static_cast<unsigned char>(text_b[k]);
        if (x != y) return x < y ? -1 : 1;
      }
      return text_a.size() < text_b.size() ? -1 : 1;
    }
    i = i2;
    j = j2;
    // A run of digits, compared as a number of any size (empty = 0): strip leading zeros, then
    // the longer is larger, and equal lengths compare digit by digit.
    while (i2 < a.size() && digit(a[i2])) ++i2;
    while (j2 < b.size() && digit(b[j2])) ++j2;
    std::string_view num_a = a.substr(i, i2 - i);
    std::string_view num_b = b.substr(j, j2 - j);
    while (!num_a.empty() && num_a.front() == '0') num_a.remove_prefix(1);
    while (!num_b.empty() && num_b.front() == '0') num_b.remove_prefix(1);
    if (num_a.size() != num_b.size()) return num_a.size() < num_b.size() ? -1 : 1;
    if (num_a != num_b) return num_a < num_b ? -1 : 1;
    i = i2;
    j = j2;
  }
  return 0;
}

bool reference_condition_holds(const posture::Condition& condition, const AttrValue* value) {
  using posture::Op;
  // §5.4: an unset attribute fails every operator except NOT SET.
  if (condition.op == Op::NotSet) return value == nullptr;
  if (value == nullptr) return false;
  const bool version = posture::is_version_attribute(condition.attribute);
  switch (condition.op) {
    case Op::IsSet:
      return true;
    case Op::Bare:  // the project reads a bare attribute as `== true`
      return std::holds_alternative<bool>(*value) && std::get<bool>(*value);
    case Op::Eq:
      return same_value(*value, condition.operands.at(0), version);
    case Op::Ne:
      // A type mismatch makes the comparison false either way (§5.4 recommendation).
      return value->index() == condition.operands.at(0).value.index() &&
             !same_value(*value, condition.operands.at(0), version);
    case Op::In:
    case Op::NotIn: {
      const bool member =
          std::any_of(condition.operands.begin(), condition.operands.end(),
                      [&](const posture::Literal& l) { return same_value(*value, l, version); });
      return condition.op == Op::In ? member : !member;
    }
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
      const auto& literal = condition.operands.at(0).value;
      int order = 0;
      if (std::holds_alternative<double>(*value) && std::holds_alternative<double>(literal)) {
        const double x = std::get<double>(*value);
        const double y = std::get<double>(literal);
        order = x < y ? -1 : (x > y ? 1 : 0);
      } else if (version && std::holds_alternative<std::string>(*value) &&
                 std::holds_alternative<std::string>(literal)) {
        order = reference_compare_versions(std::get<std::string>(*value),
                                           std::get<std::string>(literal));
      } else {
        return false;  // ordering is only for numbers and versions
      }
      if (condition.op == Op::Lt) return order < 0;
      if (condition.op == Op::Le) return order <= 0;
      if (condition.op == Op::Gt) return order > 0;
      return order >= 0;
    }
    case Op::NotSet:
      break;
  }
  return false;
}

ReferenceEvaluator::ReferenceEvaluator(const policy::Ast& ast, const engine::Inventory& inventory)
    : ast_(ast), inventory_(inventory) {
  for (const auto& acl : ast.acls) {
    Rule rule{&acl.src, &acl.src_posture, {}, nullptr};
    for (const auto& dst : acl.dst)
      rule.targets.push_back({&dst.selector, acl.proto.number, dst.ports});
    rules_.push_back(std::move(rule));
  }
  for (const auto& grant : ast.grants) {
    Rule rule{&grant.src, &grant.src_posture, {}, &grant.via};
    for (const auto& dst : grant.dst) {
      for (const auto& spec : grant.ip)
        rule.targets.push_back({&dst, spec.proto.number, spec.ports});
    }
    rules_.push_back(std::move(rule));
  }
  // §7.2 step 1: without acls and grants the file means `*` -> `*:*`, which reaches what `*`
  // reaches (tailnet addresses and approved routes), with defaultSrcPosture as for any rule.
  if (!ast.has_acls && !ast.has_grants) {
    default_src_.push_back(policy::Selector{});
    rules_.push_back(Rule{&default_src_,
                          &default_no_posture_,
                          {Target{&default_src_.front(), std::nullopt, {policy::PortRange{}}}},
                          nullptr});
  }
}

const Device* ReferenceEvaluator::device_at(const ip::Address& address) const {
  for (const auto& device : inventory_.devices) {
    if (std::find(device.addresses.begin(), device.addresses.end(), address) !=
        device.addresses.end()) {
      return &device;
    }
  }
  return nullptr;
}

// Approved routes; exit routes (/0) count only when `with_exit_routes`
// (docs/semantics.md#reference).
bool ReferenceEvaluator::in_approved_route(const ip::Address& address,
                                           bool with_exit_routes) const {
  for (const auto& device : inventory_.devices) {
    for (const auto& route : device.enabled_routes) {
      if ((with_exit_routes || route.length != 0) && ip::contains(route, address)) return true;
    }
  }
  return false;
}

bool ReferenceEvaluator::ipset_target_contains(std::string_view target, const ip::Address& address,
                                               int depth) const {
  if (target == "autogroup:internet") return in_internet(address);
  if (target.rfind("ipset:", 0) == 0)
    return ipset_contains(std::string(target), address, depth + 1);
  std::string_view alias = target;
  if (alias.rfind("host:", 0) == 0) alias.remove_prefix(5);
  if (const auto it = ast_.host_prefixes.find(std::string(alias)); it != ast_.host_prefixes.end()) {
    return ip::contains(it->second, address);
  }
  if (const auto range = ip::parse_range(target)) {
    return range->first.v6 == address.v6 && range->first <= address && address <= range->last;
  }
  if (const auto p = ip::parse_prefix(target)) return ip::contains(*p, address);
  return false;
}

// Operations apply in order: the last operation whose target holds the address decides.
bool ReferenceEvaluator::ipset_contains(const std::string& name, const ip::Address& address,
                                        int depth) const {
  const auto it = ast_.ipsets.find(name);
  if (it == ast_.ipsets.end() || depth > kMaxIpsetDepth) return false;
  bool inside = false;
  for (const auto& op : it->second) {
    if (ipset_target_contains(op.target.value, address, depth)) inside = op.add;
  }
  return inside;
}

bool ReferenceEvaluator::selector_contains(const policy::Selector& selector,
                                           const ip::Address& address, Side side) const {
  using policy::SelectorKind;
  const Device* device = device_at(address);
  switch (selector.kind) {
    case SelectorKind::Wildcard:
      // §3.2: as a source, tailnet addresses and subnet routes, never arbitrary internet hosts;
      // §3.3: as a destination, every approved route, exit routes included.
      return in_tailnet_range(address) || device != nullptr ||
             in_approved_route(address, side == Side::Destination);
    case SelectorKind::User:
      return device != nullptr && identity(*device) == selector.name;
    case SelectorKind::UserDomain: {
      if (device == nullptr || !member_device(inventory_, *device)) return false;
      const auto at = device->user.rfind('@');
      return at != std::string::npos && device->user.substr(at + 1) == selector.name;
    }
    case SelectorKind::Group: {
      const auto group = ast_.groups.find(selector.name);
      if (device == nullptr || group == ast_.groups.end()) return false;
      const auto login = identity(*device);
      return login && std::any_of(group->second.begin(), group->second.end(),
                                  [&](const policy::Text& m) { return m.value == *login; });
    }
    case SelectorKind::Tag:
      return device != nullptr && std::find(device->tags.begin(), device->tags.end(),
                                            selector.name) != device->tags.end();
    case SelectorKind::Autogroup: {
      const auto& name = selector.name;
      if (name == "autogroup:danger-all") return true;
      if (name == "autogroup:internet") return in_internet(address);
      if (device == nullptr) return false;
      if (name == "autogroup:member") return member_device(inventory_, *device);
      if (name == "autogroup:tagged") return device->tagged();
      if (name == "autogroup:shared") return shared_in(inventory_, *device);
      for (const char* role :
           {"owner", "admin", "network-admin", "it-admin", "billing-admin", "auditor"}) {
        if (name == std::string("autogroup:") + role) {
          return member_device(inventory_, *device) && role_of(inventory_, *device) == role;
        }
      }
      return false;  // autogroup:self is decided per address pair (self_matches)
    }
    case SelectorKind::Host: {
      const auto it = ast_.host_prefixes.find(selector.name);
      return it != ast_.host_prefixes.end() && ip::contains(it->second, address);
    }
    case SelectorKind::Address:
      return ip::contains(selector.prefix, address);
    case SelectorKind::IpSet:
      return ipset_contains(selector.name, address, 0);
    case SelectorKind::Service:
      return false;  // the inventory has no Tailscale Services
  }
  return false;
}

bool ReferenceEvaluator::source_matches(const policy::Selector& selector,
                                        const ip::Address& address) const {
  return selector_contains(selector, address, Side::Source);
}

// §7.4: both ends untagged devices of one user of this tailnet (shared-in devices have no
// "own devices" here: docs/semantics.md#reference).
bool ReferenceEvaluator::self_matches(const ip::Address& src, const ip::Address& dst) const {
  const Device* from = device_at(src);
  const Device* to = device_at(dst);
  if (from == nullptr || to == nullptr) return false;
  if (!member_device(inventory_, *from) || !member_device(inventory_, *to)) return false;
  const auto a = identity(*from);
  const auto b = identity(*to);
  return a && b && *a == *b;
}

// A grant with `via` reaches only addresses routed by a device carrying one of those tags; a
// device's own tailnet address is never routed, even when an exit route (0.0.0.0/0) covers it.
bool ReferenceEvaluator::via_allows(const Rule& rule, const ip::Address& dst) const {
  if (rule.via == nullptr || rule.via->empty()) return true;
  if (device_at(dst) != nullptr) return false;
  for (const auto& device : inventory_.devices) {
    const bool routes_via = std::any_of(rule.via->begin(), rule.via->end(), [&](const auto& tag) {
      return std::find(device.tags.begin(), device.tags.end(), tag.value) != device.tags.end();
    });
    if (!routes_via) continue;
    for (const auto& route : device.enabled_routes) {
      if (ip::contains(route, dst)) return true;
    }
  }
  return false;
}

RefAttrs ReferenceEvaluator::effective_attributes(const Device& device,
                                                  const RefQuery& query) const {
  if (query.src_attrs != nullptr) return *query.src_attrs;
  RefAttrs attrs;
  for (const auto& [key, value] : device.attributes) {
    const auto expiry = device.expiries.find(key);
    if (expiry != device.expiries.end() && expiry->second <= query.now) continue;
    attrs.emplace(key, value);
  }
  return attrs;
}

bool ReferenceEvaluator::posture_holds(const std::string& name, const RefAttrs& attrs) const {
  const auto it = ast_.postures.find(name);
  if (it == ast_.postures.end()) return false;
  return std::all_of(
      it->second.conditions.begin(), it->second.conditions.end(), [&](const posture::Condition& c) {
        const auto value = attrs.find(c.attribute);
        return reference_condition_holds(c, value == attrs.end() ? nullptr : &value->second);
      });
}

// §5.6-§5.7: only sources that are this tailnet's own nodes are posture-checked.
bool ReferenceEvaluator::source_passes_posture(const Rule& rule, const RefQuery& query) const {
  const Device* device = device_at(query.src);
  if (device == nullptr || shared_in(inventory_, *device)) return true;
  const std::vector<policy::Text>* list = nullptr;
  if (rule.src_posture->has_value()) {
    list = &**rule.src_posture;  // replaces the default, even when empty
  } else if (ast_.default_src_posture && !ast_.default_src_posture->empty()) {
    list = &*ast_.default_src_posture;
  }
  if (list == nullptr || list->empty()) return true;
  const RefAttrs attrs = effective_attributes(*device, query);
  return std::any_of(list->begin(), list->end(),
                     [&](const policy::Text& name) { return posture_holds(name.value, attrs); });
}

bool ReferenceEvaluator::allowed(const RefQuery& query) const {
  if (query.src.v6 != query.dst.v6) return false;  // mismatched families never match
  for (const auto& rule : rules_) {
    const bool source_ok = std::any_of(rule.src->begin(), rule.src->end(),
                                       [&](const auto& s) { return source_matches(s, query.src); });
    if (!source_ok || !source_passes_posture(rule, query)) continue;
    for (const auto& target : rule.targets) {
      const bool self = target.selector->kind == policy::SelectorKind::Autogroup &&
                        target.selector->name == "autogroup:self";
      const bool dst_ok = self ? self_matches(query.src, query.dst)
                               : selector_contains(*target.selector, query.dst, Side::Destination);
      if (!dst_ok || !via_allows(rule, query.dst)) continue;
      // §7.3: ICMP echo is allowed between any address pair some rule connects.
      if (is_icmp(query.proto)) return true;
      if (proto_and_port_match(target.proto, target.ports, query.proto, query.port)) return true;
    }
  }
  return false;
}

}  // namespace postern::test
