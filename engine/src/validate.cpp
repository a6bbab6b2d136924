// engine::validate entry point and the checks on definitions: groups, tagOwners, hosts, ipsets.
#include "postern/engine/validate.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "validate_detail.hpp"

namespace postern::engine {
namespace detail {

using g::DiagCode;

std::vector<g::Diagnostic> Validator::run() {
  groups();
  tag_owners();
  hosts();
  ipsets();
  postures();
  posture_refs(ast_.default_src_posture, "defaultSrcPosture", g::Span{});
  acls();
  grants();
  ssh();
  ssh_tests();
  node_attrs();
  if (dropped_ > 0) {
    g::Diagnostic note;
    note.severity = g::Severity::Note;
    note.code = DiagCode::S213;
    note.message = "too many errors: " + std::to_string(dropped_) + " more not shown";
    note.help = "fix the errors above and run again";
    diags_.push_back(std::move(note));
  }
  return std::move(diags_);
}

void Validator::add(g::Diagnostic diag) {
  if (diag.severity == g::Severity::Error) {
    if (errors_ >= kMaxValidationErrors) {
      ++dropped_;
      return;
    }
    ++errors_;
  }
  diags_.push_back(std::move(diag));
}

void Validator::error(DiagCode code, g::Span span, std::string message, std::string help) {
  add(g::make_error(code, span, std::move(message), std::move(help)));
}

void Validator::warning(DiagCode code, g::Span span, std::string message, std::string help) {
  add(g::make_warning(code, span, std::move(message), std::move(help)));
}

bool is_role_autogroup(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kRoles = {
      "autogroup:member",        "autogroup:admin",    "autogroup:owner",
      "autogroup:network-admin", "autogroup:it-admin", "autogroup:billing-admin",
      "autogroup:auditor"};
  return std::find(kRoles.begin(), kRoles.end(), name) != kRoles.end();
}

bool is_known_autogroup(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kOthers = {
      "autogroup:tagged", "autogroup:shared",   "autogroup:danger-all",
      "autogroup:self",   "autogroup:internet", "autogroup:nonroot"};
  return is_role_autogroup(name) ||
         std::find(kOthers.begin(), kOthers.end(), name) != kOthers.end();
}

void Validator::check_tag_ref(const pol::Text& tag, std::string_view message_prefix) {
  if (ast_.tag_owners.contains(tag.value)) return;
  error(DiagCode::V302, tag.span,
        std::string(message_prefix) + "tag not found: \"" + tag.value + "\"",
        "declare it in `tagOwners`, e.g. `\"" + tag.value + "\": [\"autogroup:admin\"]`");
}

void Validator::check_group_ref(const pol::Text& group) {
  if (ast_.groups.contains(group.value)) return;
  error(DiagCode::V303, group.span, "group not defined in policy: \"" + group.value + "\"",
        "define it under `groups`");
}

void Validator::check_domain(const pol::Selector& selector, bool ssh) {
  if (!context_.domains_known) return;
  const auto& domains = context_.user_domains;
  if (std::find(domains.begin(), domains.end(), selector.name) != domains.end()) return;
  error(DiagCode::V321, selector.source.span,
        std::string(ssh ? "[ssh] " : "") + selector.name +
            " is not associated with this Tailnet and cannot be used in user:*@<domain> "
            "expressions",
        "no user of the tailnet inventory has a login in this domain");
}

void Validator::groups() {
  for (const auto& [name, members] : ast_.groups) {
    const auto span = ast_.group_spans.at(name);
    const std::string where = "groups[\"" + name + "\"]: ";
    if (!name.starts_with("group:") || name.size() == 6) {
      error(DiagCode::V322, span, where + "group names must start with \"group:\"",
            "rename it `group:" + name + "`");
    }
    for (const auto& member : members) {
      if (member.value.starts_with("group:")) {
        error(DiagCode::V307, member.span,
              where + "\"" + member.value + "\": group members cannot be recursive",
              "list the users of `" + member.value + "` directly");
      } else if (member.value.find('@') == std::string::npos || member.value.starts_with("tag:") ||
                 member.value.starts_with("autogroup:") || member.value.starts_with("user:")) {
        error(DiagCode::V322, member.span,
              where + "\"" + member.value + "\": groups can only contain users",
              "write user logins such as `alice@example.com`");
      }
    }
  }
}

namespace {

// Tailscale: a tag name starts with a letter and holds letters, digits and dashes.
std::string tag_name_problem(std::string_view tag) {
  if (!tag.starts_with("tag:")) return "tag names must start with \"tag:\"";
  const auto name = tag.substr(4);
  if (name.empty() || std::isalpha(static_cast<unsigned char>(name.front())) == 0 ||
      static_cast<unsigned char>(name.front()) >= 0x80) {
    return "tag names must start with a letter, after 'tag:'";
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (std::isalnum(u) == 0 && c != '-')) {
      return "tag names can only contain numbers, letters, or dashes";
    }
  }
  return {};
}

}  // namespace

void Validator::tag_owners() {
  for (const auto& [tag, owners] : ast_.tag_owners) {
    const auto span = ast_.tag_spans.at(tag);
    if (auto problem = tag_name_problem(tag); !problem.empty()) {
      error(DiagCode::V308, span, "tagOwners[\"" + tag + "\"]: " + problem);
    }
    for (const auto& owner : owners) {
      const auto& v = owner.value;
      if (v.starts_with("tag:")) {
        check_tag_ref(owner, "");
      } else if (v.starts_with("group:")) {
        check_group_ref(owner);
      } else if (v.starts_with("autogroup:")) {
        if (!is_role_autogroup(v) && v != "autogroup:tagged") {
          error(DiagCode::V310, owner.span,
                "tagOwners[\"" + tag + "\"]: \"" + v + "\" cannot own tags",
                "owners are users, groups, tags or role autogroups such as `autogroup:admin`");
        }
      } else if (v.find('@') == std::string::npos) {
        error(DiagCode::V301, owner.span,
              "tagOwners[\"" + tag + "\"]: invalid tag owner \"" + v + "\"",
              "owners are users, groups, tags or role autogroups such as `autogroup:admin`");
      }
    }
  }
}

void Validator::hosts() {
  for (const auto& [alias, value] : ast_.hosts) {
    const auto span = ast_.host_spans.at(alias);
    if (alias.empty() || alias.find_first_of("@: ") != std::string::npos) {
      error(DiagCode::V320, span,
            "hosts[\"" + alias + "\"]: host names must not be empty or contain `@`, `:` or spaces",
            "use a plain name such as `corp-lan`");
    }
    if (!ast_.host_prefixes.contains(alias)) {
      error(DiagCode::V320, value.span,
            "hosts[\"" + alias + "\"]: \"" + value.value + "\": invalid IP address or CIDR",
            "a host alias stands for one IP address or prefix, e.g. `100.64.0.1` or "
            "`10.0.0.0/8`");
    }
  }
}

void Validator::ipsets() {
  for (const auto& [name, ops] : ast_.ipsets) {
    const auto span = ast_.ipset_spans.at(name);
    if (!name.starts_with("ipset:") || name.size() == 6) {
      error(DiagCode::V301, span,
            "ipsets[\"" + name + "\"]: ipset names must start with \"ipset:\"");
    }
    for (const auto& op : ops) {
      const auto& t = op.target.value;
      if (t.starts_with("host:") && !ast_.hosts.contains(t.substr(5))) {
        error(DiagCode::V304, op.target.span, "host not found: \"" + t.substr(5) + "\"",
              "define it under `hosts`");
      } else if (t.starts_with("ipset:") && !ast_.ipsets.contains(t)) {
        error(DiagCode::V306, op.target.span, "ipset not found: \"" + t + "\"",
              "define it under `ipsets`");
      }
    }
  }
  // Cycles: depth-first search over ipset -> ipset references, reporting each cycle once.
  std::map<std::string, int> state;  // 0 unvisited, 1 on stack, 2 done
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    state[name] = 1;
    for (const auto& op : ast_.ipsets.at(name)) {
      const auto& t = op.target.value;
      if (!t.starts_with("ipset:") || !ast_.ipsets.contains(t)) continue;
      if (state[t] == 1) {
        error(
            DiagCode::V319, op.target.span,
            "ipsets[\"" + name + "\"]: \"" + t + "\": ipsets cannot refer to themselves in a cycle",
            "break the cycle: an ipset may include another only when that one does not include "
            "it back");
      } else if (state[t] == 0) {
        visit(t);
      }
    }
    state[name] = 2;
  };
  for (const auto& [name, ops] : ast_.ipsets) {
    if (state[name] == 0) visit(name);
  }
}

}  // namespace detail

ValidateContext make_validate_context(const Inventory& inventory) {
  ValidateContext context;
  context.domains_known = true;
  std::map<std::string, std::size_t> members;  // domain -> own users
  std::set<std::string> owners;
  for (const auto& user : inventory.users) {
    const auto at = user.login.rfind('@');
    if (user.shared || at == std::string::npos) continue;
    auto domain = user.login.substr(at + 1);
    if (user.role == "owner") owners.insert(domain);
    ++members[std::move(domain)];
  }
  if (!owners.empty()) {
    context.user_domains.assign(owners.begin(), owners.end());
    return context;
  }
  std::size_t most = 0;
  for (const auto& entry : members) most = std::max(most, entry.second);
  for (const auto& [domain, count] : members) {
    if (count == most) context.user_domains.push_back(domain);
  }
  return context;
}

std::vector<grammar::Diagnostic> validate(const grammar::SourceFile& file,
                                          const grammar::policy::Ast& ast,
                                          const ValidateContext& context) {
  return detail::Validator(file, ast, context).run();
}

}  // namespace postern::engine
