// Policy preview: rules that apply to a user, or that reach an IP:port.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "postern/control/policy_preview.hpp"
#include "postern/engine/policy_load.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;
namespace policy = grammar::policy;

std::string_view domain_of(std::string_view login) {
  const auto at = login.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : login.substr(at + 1);
}

struct Person {
  std::string login;
  std::string role = "member";
  bool shared = false;
};

Person person(const engine::Inventory& inventory, std::string_view login) {
  for (const auto& u : inventory.users) {
    if (grammar::ascii_iequals(u.login, login)) return Person{u.login, u.role, u.shared};
  }
  return Person{std::string(login), "member", false};  // unknown users are plain members
}

// Does `selector` (a src, or a group member) name `who`? Groups hold users, never groups.
bool names_person(const policy::Selector& selector, const Person& who, const policy::Ast& ast,
                  bool in_group = false) {
  switch (selector.kind) {
    case policy::SelectorKind::Wildcard:
      return !in_group;
    case policy::SelectorKind::User:
      return grammar::ascii_iequals(selector.name, who.login);
    case policy::SelectorKind::UserDomain:
      return grammar::ascii_iequals(selector.name, domain_of(who.login));
    case policy::SelectorKind::Group: {
      if (in_group) return false;
      const auto group = ast.groups.find(selector.name);
      if (group == ast.groups.end()) return false;
      return std::any_of(group->second.begin(), group->second.end(), [&](const policy::Text& m) {
        const auto member = policy::classify_selector(m.value);
        return member && names_person(*member, who, ast, true);
      });
    }
    case policy::SelectorKind::Autogroup: {
      if (selector.name == "autogroup:member") return !who.shared;
      if (selector.name == "autogroup:shared") return who.shared;
      if (selector.name == "autogroup:danger-all") return true;
      const std::string_view role = std::string_view(selector.name).substr(10);  // "autogroup:"
      return !who.shared && role == who.role;
    }
    default:
      return false;  // tags, hosts, addresses and sets name devices, not users
  }
}

// Does `selector` (a dst) cover `address` of the tailnet?
bool covers(const policy::Selector& selector, const grammar::ip::Address& address,
            const policy::Ast& ast, const engine::Inventory& inventory) {
  switch (selector.kind) {
    case policy::SelectorKind::Wildcard:
      return true;
    case policy::SelectorKind::Address:
      return grammar::ip::contains(selector.prefix, address);
    case policy::SelectorKind::Host: {
      const auto host = ast.host_prefixes.find(selector.name);
      return host != ast.host_prefixes.end() && grammar::ip::contains(host->second, address);
    }
    default:
      break;
  }
  // Everything else names devices by their own addresses (a subnet behind a router is reached
  // only by rules that name its addresses).
  for (const auto& d : inventory.devices) {
    if (std::find(d.addresses.begin(), d.addresses.end(), address) == d.addresses.end()) continue;
    if (selector.kind == policy::SelectorKind::Tag) {
      if (std::find(d.tags.begin(), d.tags.end(), selector.name) != d.tags.end()) return true;
      continue;
    }
    if (selector.name == "autogroup:tagged") {
      if (d.tagged()) return true;
      continue;
    }
    if (d.tagged()) continue;
    if (selector.name == "autogroup:self") return true;  // every owner reaches their own
    if (names_person(selector, person(inventory, d.user), ast)) return true;
  }
  return false;
}

bool port_in(const std::vector<policy::PortRange>& ranges, std::uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const policy::PortRange& r) { return r.first <= port && port <= r.last; });
}

struct IpPort {
  grammar::ip::Address address;
  std::uint16_t port = 0;
};

std::optional<IpPort> parse_ip_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // IPv6 needs brackets: [fd7a:115c:a1e0::1]:22
  }
  const auto address = grammar::ip::parse_address(host);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!address || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return std::nullopt;
  }
  return IpPort{*address, static_cast<std::uint16_t>(port)};
}

class Previewer {
 public:
  Previewer(const engine::LoadedPolicy& loaded, const engine::Inventory& inventory,
            PolicyPreview& out)
      : file_(loaded.file), ast_(*loaded.ast), inventory_(inventory), out_(out) {}

  void preview_user(const Person& who) {
    for (const auto& rule : ast_.acls) {
      if (any_names(rule.src, who)) add_acl(rule, rule.dst);
    }
    for (const auto& grant : ast_.grants) {
      if (any_names(grant.src, who)) add_grant(grant, grant.dst, grant.ip);
    }
  }

  void preview_ip_port(const IpPort& target) {
    for (const auto& rule : ast_.acls) {
      std::vector<policy::Destination> hit;
      for (const auto& d : rule.dst) {
        if (port_in(d.ports, target.port) && covers(d.selector, target.address, ast_, inventory_)) {
          hit.push_back(d);
        }
      }
      if (!hit.empty()) add_acl(rule, hit);
    }
    for (const auto& grant : ast_.grants) {
      std::vector<policy::Selector> hit_dst;
      for (const auto& d : grant.dst) {
        if (covers(d, target.address, ast_, inventory_)) hit_dst.push_back(d);
      }
      std::vector<policy::IpSpec> hit_ip;
      for (const auto& spec : grant.ip) {
        if (port_in(spec.ports, target.port)) hit_ip.push_back(spec);
      }
      if (!hit_dst.empty() && !hit_ip.empty()) add_grant(grant, hit_dst, hit_ip);
    }
  }

 private:
  bool any_names(const std::vector<policy::Selector>& src, const Person& who) const {
    return std::any_of(src.begin(), src.end(),
                       [&](const policy::Selector& s) { return names_person(s, who, ast_); });
  }

  static std::vector<std::string> texts(const std::vector<policy::Selector>& selectors) {
    std::vector<std::string> out;
    for (const auto& s : selectors) out.push_back(s.source.value);
    return out;
  }

  void add_acl(const policy::AclRule& rule, const std::vector<policy::Destination>& dst) {
    PreviewMatch m;
    m.users = texts(rule.src);
    for (const auto& d : dst) m.ports.push_back(d.source.value);
    finish(m, rule.span, rule.src_posture);
  }

  void add_grant(const policy::Grant& grant, const std::vector<policy::Selector>& dst,
                 const std::vector<policy::IpSpec>& ip) {
    PreviewMatch m;
    m.users = texts(grant.src);
    for (const auto& d : dst) {
      if (ip.empty()) m.ports.push_back(d.source.value);  // an app-capability-only grant
      for (const auto& spec : ip) m.ports.push_back(d.source.value + ":" + spec.source.value);
    }
    for (const auto& v : grant.via) m.via.push_back(v.value);
    finish(m, grant.span, grant.src_posture);
  }

  void finish(PreviewMatch& m, grammar::Span span,
              const std::optional<std::vector<policy::Text>>& own_postures) {
    m.line_number = file_.line_col(span.begin).line;
    const auto& names = own_postures ? own_postures : ast_.default_src_posture;
    if (names) {
      for (const auto& name : *names) {
        m.postures.push_back(name.value);
        note_posture(name.value);
      }
    }
    out_.matches.push_back(std::move(m));
  }

  void note_posture(const std::string& name) {
    if (out_.postures.count(name) != 0) return;
    auto& conditions = out_.postures[name];
    const auto def = ast_.postures.find(name);
    if (def == ast_.postures.end()) return;
    for (const auto& c : def->second.conditions) {
      conditions.emplace_back(file_.slice(c.span));
    }
  }

  const grammar::SourceFile& file_;
  const policy::Ast& ast_;
  const engine::Inventory& inventory_;
  PolicyPreview& out_;
};

Error policy_error(const engine::LoadedPolicy& loaded) {
  for (const auto& d : loaded.diags) {
    if (d.severity != grammar::Severity::Error) continue;
    const auto at = loaded.file.line_col(d.span.begin);
    return invalid(DiagCode::K810,
                   fmt::format("line {}, column {}: {}", at.line, at.column, d.message), d.help);
  }
  return invalid(DiagCode::K810, "the policy file is invalid");
}

}  // namespace

std::optional<PreviewType> parse_preview_type(std::string_view text) {
  if (text == "user") return PreviewType::User;
  if (text == "ipport") return PreviewType::IpPort;
  return std::nullopt;
}

std::string_view preview_type_name(PreviewType type) {
  return type == PreviewType::User ? "user" : "ipport";
}

Outcome<PolicyPreview> preview_policy(std::string text, PreviewType type,
                                      std::string_view preview_for,
                                      const engine::Inventory& inventory) {
  if (preview_for.empty()) {
    return invalid(DiagCode::C722, "`previewFor` is required",
                   type == PreviewType::User ? "give a user, e.g. previewFor=alice@example.com"
                                             : "give an IP:port, e.g. previewFor=100.64.0.1:22");
  }
  std::optional<IpPort> target;
  if (type == PreviewType::IpPort) {
    target = parse_ip_port(preview_for);
    if (!target) {
      return invalid(
          DiagCode::C722,
          fmt::format("`previewFor` must be IP:port for type=ipport, got `{}`", preview_for),
          "e.g. 100.64.0.1:22 or [fd7a:115c:a1e0::1]:443");
    }
  }
  const auto loaded =
      engine::load_policy("policy.hujson", std::move(text), engine::validate_context(inventory));
  if (!loaded.ok()) return policy_error(loaded);
  PolicyPreview out{type, std::string(preview_for), {}, {}};
  Previewer previewer(loaded, inventory, out);
  if (target) {
    previewer.preview_ip_port(*target);
  } else {
    previewer.preview_user(person(inventory, preview_for));
  }
  return out;
}

}  // namespace postern::control
