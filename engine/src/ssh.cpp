// SshPolicy: Tailscale SSH decisions from the policy's `ssh` rules (first matching rule wins).
#include "postern/engine/ssh.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "compiled.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::engine {
namespace ip = grammar::ip;
namespace policy = grammar::policy;
using policy::SelectorKind;

namespace {

std::string_view domain_of(std::string_view login) {
  const auto at = login.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : login.substr(at + 1);
}

bool has_tag(const SshPeer& peer, std::string_view tag) {
  return std::find(peer.tags.begin(), peer.tags.end(), tag) != peer.tags.end();
}

bool is_user(const SshPeer& peer) { return peer.tags.empty() && !peer.user.empty(); }

}  // namespace

std::string_view ssh_action_name(SshAction action) {
  switch (action) {
    case SshAction::Accept:
      return "accept";
    case SshAction::Check:
      return "check";
    case SshAction::Deny:
      break;
  }
  return "deny";
}

SshPeer ssh_peer_of(const Device& device) {
  SshPeer peer;
  if (device.tagged()) {
    peer.tags = device.tags;
  } else {
    peer.user = device.user;
  }
  peer.addresses = device.addresses;
  peer.external = device.is_external;
  return peer;
}

struct SshPolicy::Impl {
  policy::Ast ast;
  Inventory inventory;
  std::shared_ptr<const CompiledPolicy> postures;  // posture predicates only
  std::int64_t now = 0;

  [[nodiscard]] const User* user(std::string_view login) const {
    for (const auto& u : inventory.users) {
      if (u.login == login) return &u;
    }
    return nullptr;
  }
  [[nodiscard]] bool in_group(const std::string& group, std::string_view login) const {
    auto g = ast.groups.find(group);
    if (g == ast.groups.end()) return false;
    return std::any_of(g->second.begin(), g->second.end(),
                       [&](const policy::Text& m) { return m.value == login; });
  }
  [[nodiscard]] bool shared(const SshPeer& peer) const {
    const User* u = user(peer.user);
    return peer.external || (u != nullptr && u->shared);
  }
  [[nodiscard]] bool has_role(const SshPeer& peer, std::string_view autogroup) const {
    const User* u = user(peer.user);
    return u != nullptr && autogroup == "autogroup:" + u->role;
  }
  [[nodiscard]] bool any_address_in(const SshPeer& peer, const ip::Prefix& prefix) const {
    return std::any_of(peer.addresses.begin(), peer.addresses.end(),
                       [&](const ip::Address& a) { return ip::contains(prefix, a); });
  }

  [[nodiscard]] bool src_matches(const policy::Selector& s, const SshPeer& p) const {
    switch (s.kind) {
      case SelectorKind::Wildcard:
        return true;
      case SelectorKind::User:
        return is_user(p) && p.user == s.name;
      case SelectorKind::UserDomain:
        return is_user(p) && !shared(p) && domain_of(p.user) == s.name;
      case SelectorKind::Group:
        return is_user(p) && in_group(s.name, p.user);
      case SelectorKind::Tag:
        return has_tag(p, s.name);
      case SelectorKind::Autogroup:
        if (s.name == "autogroup:danger-all") return true;
        if (s.name == "autogroup:tagged") return !p.tags.empty();
        if (s.name == "autogroup:member") return is_user(p) && !shared(p);
        if (s.name == "autogroup:shared") return is_user(p) && shared(p);
        return is_user(p) && !shared(p) && has_role(p, s.name);
      case SelectorKind::Host: {
        auto h = ast.host_prefixes.find(s.name);
        return h != ast.host_prefixes.end() && any_address_in(p, h->second);
      }
      case SelectorKind::Address:
        return any_address_in(p, s.prefix);
      case SelectorKind::IpSet:
      case SelectorKind::Service:
        break;
    }
    return false;
  }

  [[nodiscard]] bool dst_matches(std::string_view d, const SshPeer& src, const SshPeer& dst) const {
    if (d.starts_with("tag:")) return has_tag(dst, d);
    if (d.starts_with("group:")) return is_user(dst) && in_group(std::string(d), dst.user);
    if (d == "autogroup:self") return is_user(src) && is_user(dst) && src.user == dst.user;
    if (d == "autogroup:tagged") return !dst.tags.empty();
    if (d == "autogroup:member") return is_user(dst) && !shared(dst);
    if (d.starts_with("autogroup:")) return is_user(dst) && !shared(dst) && has_role(dst, d);
    if (auto a = ip::parse_address(d)) {
      return std::find(dst.addresses.begin(), dst.addresses.end(), *a) != dst.addresses.end();
    }
    return is_user(dst) && dst.user == d;
  }

  // Tailscale's user map: names as written, `autogroup:nonroot` = any login but root,
  // `localpart:*@domain` = the local part of the source's login when it is in `domain`.
  [[nodiscard]] static bool login_allowed(const policy::SshRule& rule, const SshPeer& src,
                                          std::string_view login) {
    if (login.empty()) return false;
    for (const auto& u : rule.users) {
      const std::string_view v = u.value;
      if (v == login) return true;
      if (v == "autogroup:nonroot" && login != "root") return true;
      if (v.starts_with("localpart:*@") && is_user(src)) {
        const auto at = src.user.rfind('@');
        if (at != std::string::npos && std::string_view(src.user).substr(0, at) == login &&
            grammar::ascii_iequals(domain_of(src.user), v.substr(12))) {
          return true;
        }
      }
    }
    return false;
  }

  // Empty when the rule has no posture gate (or the source is exempt), else the failures.
  [[nodiscard]] std::optional<SshNearMiss> posture_gate(const policy::SshRule& rule,
                                                        const SshPeer& src) const {
    const auto& list = rule.src_posture.has_value() ? rule.src_posture : ast.default_src_posture;
    if (!list.has_value() || src.external) return std::nullopt;
    static const AttrMap kNoAttrs;
    const AttrMap& attrs = src.attrs != nullptr ? *src.attrs : kNoAttrs;
    SshNearMiss miss;
    miss.from_default = !rule.src_posture.has_value();
    for (const auto& name : *list) {
      auto id = postures->posture_ids.find(name.value);
      if (id == postures->posture_ids.end()) continue;
      if (posture_holds(*postures, id->second, attrs, nullptr, now)) return std::nullopt;
      miss.postures.push_back(explain_posture(*postures, id->second, attrs, nullptr, now));
    }
    return miss;
  }
};

SshPolicy::SshPolicy(const grammar::SourceFile& file, const policy::Ast& ast,
                     const Inventory& inventory, CompileOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->ast = ast;
  impl_->inventory = inventory;
  impl_->now = options.now;
  policy::Ast postures_only;
  postures_only.postures = ast.postures;
  postures_only.has_acls = true;  // no rules: not the default allow-all policy
  impl_->postures = compile_policy(file, postures_only, Inventory{});
}

SshPolicy::~SshPolicy() = default;

SshDecision SshPolicy::check(const SshPeer& src, const SshPeer& dst, std::string_view login) const {
  const Impl& m = *impl_;
  SshDecision out;
  for (std::size_t i = 0; i < m.ast.ssh.size(); ++i) {
    const auto& rule = m.ast.ssh[i];
    const auto line = m.postures->file.line_col(rule.span.begin).line;
    if (std::none_of(rule.src.begin(), rule.src.end(),
                     [&](const policy::Selector& s) { return m.src_matches(s, src); })) {
      continue;
    }
    if (std::none_of(rule.dst.begin(), rule.dst.end(),
                     [&](const policy::Text& d) { return m.dst_matches(d.value, src, dst); })) {
      continue;
    }
    if (!Impl::login_allowed(rule, src, login)) continue;
    if (auto miss = m.posture_gate(rule, src)) {
      miss->rule = i;
      miss->line = static_cast<std::uint32_t>(line);
      out.near_misses.push_back(std::move(*miss));
      continue;
    }
    out.action = rule.action.value == "check" ? SshAction::Check : SshAction::Accept;
    out.rule = i;
    out.rule_span = rule.span;
    out.line = static_cast<std::uint32_t>(line);
    if (out.action == SshAction::Check) {
      out.check_period = rule.check_period ? rule.check_period->value : std::string("12h");
    }
    out.near_misses.clear();
    return out;
  }
  return out;
}

}  // namespace postern::engine
