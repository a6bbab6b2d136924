// Checks on acls, grants and ssh rules: references, autogroup placement, actions, grant shape
// (spec policy-language.md §3, §4, §9).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>

#include "validate_detail.hpp"

namespace postern::engine::detail {

using g::DiagCode;
using pol::SelectorKind;

namespace {

std::string_view kind_prefix(RuleKind kind, bool src_side) {
  if (kind == RuleKind::Acl && src_side) return "src=";
  return "";
}

}  // namespace

// Tailscale's own capabilities that a policy may grant (its control plane accepts them in `app`,
// captures grant-a3/a4/a6/b1); the others in tailscale.com (funnel, ingress, relay-target, ...)
// are set by the control plane itself and rejected. See docs/semantics.md "App capabilities".
bool is_grantable_tailscale_cap(std::string_view name) {
  static constexpr std::array<std::string_view, 4> kGrantable = {
      "tailscale.com/cap/drive", "tailscale.com/cap/kubernetes", "tailscale.com/cap/relay",
      "tailscale.com/cap/webui"};
  return std::find(kGrantable.begin(), kGrantable.end(), name) != kGrantable.end();
}

void Validator::selector_refs(const pol::Selector& s, RuleKind kind, bool src_side,
                              std::string_view dst_entry) {
  const std::string dst_prefix =
      (kind == RuleKind::Acl && !src_side) ? "dst=\"" + std::string(dst_entry) + "\": " : "";
  switch (s.kind) {
    case SelectorKind::Tag:
      check_tag_ref(pol::Text{s.name, s.source.span},
                    src_side ? kind_prefix(kind, src_side) : std::string_view{dst_prefix});
      break;
    case SelectorKind::Group:
      check_group_ref(pol::Text{s.name, s.source.span});
      break;
    case SelectorKind::Host:
      if (!ast_.hosts.contains(s.name)) {
        error(DiagCode::V304, s.source.span, dst_prefix + "host not found: \"" + s.name + "\"",
              "define it under `hosts`, or write an IP address or CIDR");
      }
      break;
    case SelectorKind::IpSet:
      if (!ast_.ipsets.contains(s.name)) {
        error(DiagCode::V306, s.source.span, dst_prefix + "ipset not found: \"" + s.name + "\"",
              "define it under `ipsets`");
      }
      break;
    case SelectorKind::UserDomain:
      check_domain(s, kind == RuleKind::Ssh);
      break;
    case SelectorKind::Service:
      if (src_side) {
        error(DiagCode::V310, s.source.span, "\"" + s.name + "\" can only be used as a dst",
              "services receive connections; they are never a source");
      }
      break;
    case SelectorKind::Address:
      if (kind == RuleKind::Grant && !src_side && s.prefix.length == 0) {
        error(DiagCode::V313, s.source.span,
              "dst \"" + s.source.value +
                  "\": to allow all IP addresses, use \"*\" or \"autogroup:internet\"");
      }
      break;
    case SelectorKind::Autogroup: {
      const auto& n = s.name;
      if (!is_known_autogroup(n)) {
        error(DiagCode::V327, s.source.span, "unknown autogroup \"" + n + "\"",
              "autogroups are member, tagged, admin, owner, network-admin, it-admin, "
              "billing-admin, auditor, shared, self, internet and danger-all");
      } else if (n == "autogroup:nonroot") {
        error(DiagCode::V310, s.source.span,
              "\"autogroup:nonroot\" can only be used in ssh `users`");
      } else if (src_side && n == "autogroup:self") {
        error(DiagCode::V309, s.source.span,
              "\"autogroup:self\" not valid on the src side of a rule",
              "use `autogroup:member` as src and `autogroup:self` as dst");
      } else if (src_side && n == "autogroup:internet") {
        error(DiagCode::V310, s.source.span,
              "\"autogroup:internet\" not valid on the src side of a rule",
              "autogroup:internet is a destination reached through exit nodes");
      } else if (!src_side && n == "autogroup:danger-all") {
        error(DiagCode::V310, s.source.span, "cannot use autogroup:danger-all as a dst",
              "use `*` to allow every destination in the tailnet");
      } else if (!src_side && n == "autogroup:shared") {
        error(DiagCode::V310, s.source.span, "cannot use autogroup:shared as a dst",
              "autogroup:shared names the devices of users who accepted a share; it is src only");
      }
      break;
    }
    case SelectorKind::Wildcard:
    case SelectorKind::User:
      break;
  }
}

void Validator::self_rule(const std::vector<pol::Selector>& src, g::Span self_span, RuleKind kind) {
  for (const auto& s : src) {
    const bool ok = s.kind == SelectorKind::User || s.kind == SelectorKind::UserDomain ||
                    s.kind == SelectorKind::Group ||
                    (s.kind == SelectorKind::Autogroup && is_role_autogroup(s.name)) ||
                    (s.kind == SelectorKind::Wildcard && kind == RuleKind::Acl);
    if (ok) continue;
    auto diag = g::make_error(
        DiagCode::V309, self_span,
        "autogroup:self can only be used with users, groups, or supported autogroups",
        kind == RuleKind::Grant && s.kind == SelectorKind::Wildcard
            ? "in grants, `*` cannot be combined with autogroup:self; use `autogroup:member`"
            : "`" + s.source.value + "` is not a user, group or role autogroup");
    diag.related.push_back(g::Label{s.source.span, "this source"});
    add(std::move(diag));
    return;
  }
}

void Validator::acls() {
  for (const auto& rule : ast_.acls) {
    const std::string where = "acls[" + std::to_string(rule.index) + "]";
    if (rule.action.value != "accept") {
      error(DiagCode::V311, rule.action.span,
            "action=\"" + rule.action.value + "\" is not supported",
            "every rule grants access (deny by default); the only action is \"accept\"");
    }
    for (const auto& s : rule.src) selector_refs(s, RuleKind::Acl, true, {});
    for (const auto& d : rule.dst) {
      selector_refs(d.selector, RuleKind::Acl, false, d.selector.source.value);
      if (d.selector.kind == SelectorKind::Autogroup && d.selector.name == "autogroup:self") {
        self_rule(rule.src, d.selector.source.span, RuleKind::Acl);
      }
    }
    posture_refs(rule.src_posture, where + ".srcPosture", rule.span);
  }
}

void Validator::grants() {
  for (const auto& grant : ast_.grants) {
    const std::string where = "grants[" + std::to_string(grant.index) + "]";
    if (grant.ip_entries == 0 && grant.app_capabilities.empty()) {
      error(DiagCode::V312, grant.span, "ip and app can not both be empty",
            "add `\"ip\": [\"*\"]` or the ports to allow, e.g. `\"ip\": [\"tcp:443\"]`");
    }
    for (const auto& s : grant.src) selector_refs(s, RuleKind::Grant, true, {});
    bool internet = false;
    for (const auto& d : grant.dst) {
      selector_refs(d, RuleKind::Grant, false, {});
      if (d.kind == SelectorKind::Autogroup && d.name == "autogroup:self") {
        self_rule(grant.src, d.source.span, RuleKind::Grant);
      }
      if (d.kind == SelectorKind::Autogroup && d.name == "autogroup:internet") internet = true;
    }
    for (const auto& cap : grant.app_capabilities) {
      const auto slash = cap.value.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == cap.value.size() ||
          cap.value.find("://") != std::string::npos) {
        error(DiagCode::V314, cap.span, "capability name must have the form {domain}/{path}",
              "e.g. `example.com/cap/dashboard`, without a scheme");
      } else if (cap.value.starts_with("tailscale.com/") &&
                 !is_grantable_tailscale_cap(cap.value)) {
        error(DiagCode::V314, cap.span, "capability name must not be in the tailscale.com domain",
              "of Tailscale's own capabilities only tailscale.com/cap/drive, /kubernetes, /relay "
              "and /webui may be granted");
      }
      if (internet) {
        error(DiagCode::V314, cap.span, "cannot use app grants with autogroup:internet");
      }
    }
    for (const auto& via : grant.via) {
      if (!via.value.starts_with("tag:")) {
        error(DiagCode::V315, via.span, "via can only be a tag",
              "`via` names the tagged routers or exit nodes the traffic must pass through");
      } else if (!ast_.tag_owners.contains(via.value)) {
        error(DiagCode::V302, via.span, "tag \"" + via.value + "\" not found",
              "declare it in `tagOwners`");
      }
    }
    posture_refs(grant.src_posture, where + ".srcPosture", grant.span);
  }
}

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;

// Go's time.ParseDuration (units ns, us, µs, ms, s, m, h), returning nanoseconds or the error
// text Go gives.
std::variant<std::int64_t, std::string> parse_go_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::int64_t{0};
  if (s.empty()) return "time: invalid duration " + quoted;
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      value = value * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return "time: invalid duration " + quoted;
    std::size_t u = i;
    while (u < s.size() && s[u] != '.' && (s[u] < '0' || s[u] > '9')) ++u;
    const auto unit = s.substr(i, u - i);
    if (unit.empty()) return "time: missing unit in duration " + quoted;
    long double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1e3L;
    else if (unit == "ms")
      scale = 1e6L;
    else if (unit == "s")
      scale = 1e9L;
    else if (unit == "m")
      scale = 60e9L;
    else if (unit == "h")
      scale = 3600e9L;
    else
      return "time: unknown unit \"" + std::string(unit) + "\" in duration " + quoted;
    total += value * scale;
    if (total > 9.2e18L) return "time: invalid duration " + quoted;
    s.remove_prefix(u);
  }
  const auto ns = static_cast<std::int64_t>(std::llround(static_cast<double>(total)));
  return negative ? -ns : ns;
}

// Go's Duration.String for the values we print (`200h0m0s`, `-1m0s`, `1.5s`, `500ms`).
std::string go_duration_string(std::int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  const auto abs = static_cast<std::uint64_t>(ns < 0 ? -(ns + 1) : ns) + (ns < 0 ? 1U : 0U);
  auto fraction = [](std::uint64_t whole, std::uint64_t part, std::uint64_t digits_scale) {
    std::string out = std::to_string(whole);
    if (part != 0) {
      std::string frac = std::to_string(part + digits_scale).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    return out;
  };
  const auto second = static_cast<std::uint64_t>(kSecond);
  if (abs < second) {
    if (abs < 1000U) return sign + std::to_string(abs) + "ns";
    if (abs < 1'000'000U) return sign + fraction(abs / 1000U, abs % 1000U, 1000U) + "\xC2\xB5s";
    return sign + fraction(abs / 1'000'000U, abs % 1'000'000U, 1'000'000U) + "ms";
  }
  const auto hours = abs / static_cast<std::uint64_t>(kHour);
  const auto minutes = (abs / (60U * second)) % 60U;
  const auto secs = fraction((abs / second) % 60U, abs % second, second) + "s";
  if (hours > 0) return sign + std::to_string(hours) + "h" + std::to_string(minutes) + "m" + secs;
  if (minutes > 0) return sign + std::to_string(minutes) + "m" + secs;
  return sign + secs;
}

}  // namespace

void Validator::ssh_rule(const pol::SshRule& rule) {
  const std::string where = "ssh[" + std::to_string(rule.index) + "]";
  if (rule.action.value.empty()) {
    error(DiagCode::V323, rule.action.span, "action must be specified",
          "ssh rules need `\"action\": \"accept\"` or `\"action\": \"check\"`");
  } else if (rule.action.value != "accept" && rule.action.value != "check") {
    error(DiagCode::V323, rule.action.span, "\"" + rule.action.value + "\" is not a valid action",
          "ssh actions are \"accept\" and \"check\" (lower case)");
  }
  for (const auto& s : rule.src) selector_refs(s, RuleKind::Ssh, true, {});
  for (const auto& d : rule.dst) {
    const auto& v = d.value;
    if (v.starts_with("tag:")) {
      check_tag_ref(d, "");
    } else if (v.starts_with("group:")) {
      check_group_ref(d);
    } else if (v.starts_with("autogroup:")) {
      if (v != "autogroup:self" && v != "autogroup:tagged" && !is_role_autogroup(v)) {
        error(DiagCode::V323, d.span, "invalid dst \"" + v + "\"",
              "ssh destinations are tags, users, groups, autogroup:self, autogroup:member or "
              "autogroup:tagged");
      }
    } else if (v.find('@') == std::string::npos && !grammar::ip::parse_address(v)) {
      error(DiagCode::V323, d.span, "invalid dst \"" + v + "\"",
            "ssh destinations are tags, users, groups, autogroups or Tailscale IP addresses; host "
            "aliases are not allowed");
    }
  }
  if (!rule.has_users || rule.users.empty()) {
    error(DiagCode::V323, rule.span, "users must be specified",
          "list the local users, e.g. `\"users\": [\"autogroup:nonroot\"]`");
  }
  for (const auto& user : rule.users) {
    if (user.value.empty() || user.value == "*") {
      error(DiagCode::V323, user.span, "user \"" + user.value + "\" is not valid",
            "name local users, or use `autogroup:nonroot` for any user except root");
    } else if (user.value.starts_with("localpart:")) {
      localpart_user(user);
    } else if (user.value.starts_with("autogroup:") && user.value != "autogroup:nonroot") {
      error(DiagCode::V323, user.span, "user \"" + user.value + "\" is not valid",
            "the only autogroup in ssh `users` is `autogroup:nonroot`");
    }
  }
  for (const auto& env : rule.accept_env) {
    if (env.value.empty()) {
      error(DiagCode::V323, env.span, "acceptEnv values cannot be empty");
    }
  }
  // Session recorders: tags, host aliases or addresses of the recorder nodes.
  for (const auto& recorder : rule.recorder) {
    const auto& v = recorder.value;
    if (v.starts_with("tag:")) {
      check_tag_ref(recorder, "");
    } else if (!ast_.hosts.contains(v) && !grammar::ip::parse_prefix(v)) {
      error(DiagCode::V323, recorder.span, "invalid recorder \"" + v + "\"",
            "name the session recorder nodes by tag, host alias or address, e.g. "
            "`\"recorder\": [\"tag:recorder\"]`");
    }
  }
  if (rule.check_period && rule.check_period->value != "always") {
    const auto& period = *rule.check_period;
    auto parsed = parse_go_duration(period.value);
    if (const auto* message = std::get_if<std::string>(&parsed)) {
      error(DiagCode::V323, period.span, *message,
            "write a duration such as `12h` or `30m`, or \"always\"");
    } else {
      const auto ns = std::get<std::int64_t>(parsed);
      if (ns <= 0) {
        error(DiagCode::V323, period.span,
              "checkPeriod " + go_duration_string(ns) + " must be a positive duration");
      } else if (ns > 168 * kHour) {
        error(DiagCode::V323, period.span,
              "checkPeriod " + go_duration_string(ns) + " is above the max (168h)");
      }
    }
  }
  posture_refs(rule.src_posture, where + ".srcPosture", rule.span);
}

// `localpart:*@<domain>`: the local part of a login in one of the tailnet's domains.
void Validator::localpart_user(const pol::Text& user) {
  const std::string_view v = user.value;
  if (!v.starts_with("localpart:*@")) {
    error(DiagCode::V323, user.span, "user \"" + user.value + "\" is not valid",
          "write `localpart:*@<domain>`, e.g. `localpart:*@example.com`");
    return;
  }
  const std::string domain(v.substr(12));
  const auto& domains = context_.user_domains;
  if (!domain.empty() && domain.find_first_of("*@") == std::string::npos &&
      (!context_.domains_known ||
       std::find(domains.begin(), domains.end(), domain) != domains.end())) {
    return;
  }
  error(DiagCode::V321, user.span,
        (domain.empty() ? std::string("\"\"") : domain) +
            " is not associated with this Tailnet and cannot be used in user:*@<domain> "
            "expressions",
        "localpart:*@<domain> needs one of the tailnet's own domains, without wildcards");
}

void Validator::ssh() {
  for (const auto& rule : ast_.ssh) ssh_rule(rule);
}

}  // namespace postern::engine::detail
