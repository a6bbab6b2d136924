// run_ssh_tests: the policy's `sshTests` (spec §6.5) through SshPolicy, the evaluator behind
// `postern check --ssh`.
#include <algorithm>
#include <array>
#include <variant>

#include "postern/engine/ssh.hpp"

namespace postern::engine {
namespace ip = grammar::ip;
namespace policy = grammar::policy;
using grammar::DiagCode;

namespace {

AttrMap attrs_of(const std::map<std::string, policy::AttrLiteral>& literals) {
  AttrMap out;
  for (const auto& [key, literal] : literals) {
    std::visit([&out, &key = key](const auto& v) { out.emplace(key, AttrValue{v}); }, literal);
  }
  return out;
}

// Resolves test names to SSH peers; `error` says why a name resolves to none.
struct PeerResolver {
  const policy::Ast& ast;
  const Inventory* inventory;

  [[nodiscard]] std::optional<SshPeer> device_at(const ip::Address& address) const {
    if (inventory == nullptr) {
      SshPeer peer;
      peer.addresses = {address};
      return peer;
    }
    for (const auto& d : inventory->devices) {
      if (std::find(d.addresses.begin(), d.addresses.end(), address) != d.addresses.end()) {
        return ssh_peer_of(d);
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] bool known_user(const std::string& login) const {
    if (inventory == nullptr) return true;
    return std::any_of(inventory->users.begin(), inventory->users.end(),
                       [&](const User& u) { return u.login == login; }) ||
           std::any_of(inventory->devices.begin(), inventory->devices.end(),
                       [&](const Device& d) { return !d.tagged() && d.user == login; });
  }

  [[nodiscard]] SshPeer user_peer(const std::string& login) const {
    SshPeer peer;
    peer.user = login;
    if (inventory != nullptr) {
      for (const auto& u : inventory->users) {
        if (u.login == login) peer.external = u.shared;
      }
    }
    return peer;
  }

  // A host alias or address that stands for one device.
  std::vector<SshPeer> by_address(const std::string& name, bool allow_v6,
                                  std::string& error) const {
    std::optional<ip::Address> address = ip::parse_address(name);
    if (!address) {
      auto h = ast.host_prefixes.find(name);
      if (h == ast.host_prefixes.end()) {
        error = "unknown user, group, tag or host \"" + name + "\"";
        return {};
      }
      if (h->second.length != (h->second.address.v6 ? 128U : 32U)) {
        error = "host \"" + name + "\" is a CIDR, not one address";
        return {};
      }
      address = h->second.address;
    }
    if (address->v6 && !allow_v6) {
      error = "\"" + name + "\": IPv6 addresses are not valid here; use the device's IPv4 address";
      return {};
    }
    if (auto peer = device_at(*address)) return {*peer};
    error = "no device has the address " + ip::to_string(*address);
    return {};
  }

  std::vector<SshPeer> source(const std::string& name, std::string& error) const {
    if (name.starts_with("tag:")) {
      if (!ast.tag_owners.contains(name)) {
        error = "tag not found: \"" + name + "\"";
        return {};
      }
      SshPeer peer;
      peer.tags = {name};
      return {peer};
    }
    if (name.starts_with("group:")) {
      auto g = ast.groups.find(name);
      if (g == ast.groups.end() || g->second.empty()) {
        error = "group \"" + name + "\" is not defined or has no members";
        return {};
      }
      std::vector<SshPeer> out;
      for (const auto& m : g->second) out.push_back(user_peer(m.value));
      return out;
    }
    if (name.find('@') != std::string::npos) {
      if (!known_user(name)) {
        error = "no associated IPs for user \"" + name +
                "\" (check spelling, or they may not have an approved machine)";
        return {};
      }
      return {user_peer(name)};
    }
    return by_address(name, true, error);
  }

  std::vector<SshPeer> destination(const std::string& name, std::string& error) const {
    if (name.starts_with("tag:")) {
      SshPeer peer;
      peer.tags = {name};
      return {peer};
    }
    if (name.find('/') != std::string::npos || name.starts_with("autogroup:")) {
      error = "\"" + name + "\" is not a valid SSH test destination";
      return {};
    }
    if (name.find('@') != std::string::npos) {
      if (!known_user(name)) {
        error = "no associated IPs for user \"" + name + "\"";
        return {};
      }
      return {user_peer(name)};
    }
    return by_address(name, false, error);
  }
};

// Collects failures per test source, as run_policy_tests does.
class FailureLog {
 public:
  explicit FailureLog(TestRunResult& result) : result_(result) {}
  void add(const policy::SshTest& test, grammar::Span at, std::string error,
           std::string diag_message, std::string help) {
    result_.passed = false;
    auto it = std::find_if(result_.failures.begin(), result_.failures.end(),
                           [&](const TestSourceResult& r) { return r.user == test.src.value; });
    if (it == result_.failures.end()) {
      result_.failures.push_back(TestSourceResult{test.src.value, {}, {}, test.span});
      it = std::prev(result_.failures.end());
    }
    it->errors.push_back(std::move(error));
    result_.diagnostics.push_back(
        grammar::make_error(DiagCode::T401, at, std::move(diag_message), std::move(help)));
  }

 private:
  TestRunResult& result_;
};

std::string why_text(const policy::Ast& ast, const SshDecision& d) {
  if (d.rule)
    return "decided by ssh[" + std::to_string(*d.rule) + "] (line " + std::to_string(d.line) + ")";
  if (!d.near_misses.empty()) {
    const auto& nm = d.near_misses.front();
    std::string out = "ssh[" + std::to_string(nm.rule) + "] (line " + std::to_string(nm.line) +
                      ") would allow it but " +
                      (nm.from_default ? "defaultSrcPosture" : "srcPosture") + " fails";
    return out;
  }
  return ast.ssh.empty() ? "the policy has no ssh rules"
                         : "no ssh rule matches this source, destination and login";
}

}  // namespace

void run_ssh_tests(const grammar::SourceFile& file, const policy::Ast& ast,
                   const Inventory* inventory, CompileOptions options, TestRunResult& result) {
  if (ast.ssh_tests.empty()) return;
  const SshPolicy ssh(file, ast, inventory != nullptr ? *inventory : Inventory{}, options);
  const PeerResolver resolve{ast, inventory};
  FailureLog log(result);
  const std::string kHelp =
      "sshTests entries are {\"src\", \"dst\": [...], \"accept\"/\"check\"/\"deny\": [logins]}";
  for (const auto& t : ast.ssh_tests) {
    ++result.tests_run;
    if (t.accept.empty() && t.check.empty() && t.deny.empty()) {
      log.add(t, t.span, "test has no accept, check or deny users",
              "sshTests[" + std::to_string(t.index) + "]: no `accept`, `check` or `deny` users",
              kHelp);
      continue;
    }
    std::string error;
    auto sources = resolve.source(t.src.value, error);
    if (sources.empty()) {
      log.add(t, t.src.span, error, "ssh test source `" + t.src.value + "`: " + error, kHelp);
      continue;
    }
    const AttrMap attrs = attrs_of(t.src_posture_attrs);
    for (auto& s : sources) s.attrs = &attrs;
    for (const auto& dst_name : t.dst) {
      auto dsts = resolve.destination(dst_name.value, error);
      if (dsts.empty()) {
        log.add(t, dst_name.span, "dst \"" + dst_name.value + "\": " + error,
                "ssh test destination `" + dst_name.value + "`: " + error, kHelp);
        continue;
      }
      const std::array<std::pair<const std::vector<policy::Text>*, SshAction>, 3> wants = {
          {{&t.accept, SshAction::Accept},
           {&t.check, SshAction::Check},
           {&t.deny, SshAction::Deny}}};
      for (const auto& [logins, want] : wants) {
        for (const auto& login : *logins) {
          if (login.value.empty() || login.value == "*") {
            log.add(t, login.span, "ssh user \"" + login.value + "\" is not valid",
                    "ssh test login `" + login.value + "` is not valid",
                    "name one local user, e.g. `root`");
            continue;
          }
          for (const auto& s : sources) {
            const auto got =
                std::find_if(dsts.begin(), dsts.end(), [&, want = want](const SshPeer& d) {
                  return ssh.check(s, d, login.value).action != want;
                });
            if (got == dsts.end()) continue;
            const auto decision = ssh.check(s, *got, login.value);
            const std::string src_text = s.user.empty() ? t.src.value : s.user;
            log.add(t, login.span,
                    "[ssh test error]: src \"" + src_text + "\", dst \"" + dst_name.value +
                        "\", ssh user \"" + login.value + "\": want: \"" +
                        std::string(ssh_action_name(want)) + "\" got: \"" +
                        std::string(ssh_action_name(decision.action)) + "\"",
                    "ssh test `" + src_text + "` → `" + dst_name.value + "` as `" + login.value +
                        "`: want " + std::string(ssh_action_name(want)) + ", got " +
                        std::string(ssh_action_name(decision.action)),
                    why_text(ast, decision));
            break;
          }
        }
      }
    }
  }
}

}  // namespace postern::engine
