// run_policy_tests: the policy's `tests` (spec §6) through the same evaluator as real traffic.
#include <algorithm>
#include <set>

#include "compiled.hpp"
#include "postern/engine/ssh.hpp"

namespace postern::engine {
namespace ip = grammar::ip;
namespace policy = grammar::policy;
using grammar::DiagCode;

namespace {

bool is_user_login(std::string_view s) {
  return s.find('@') != std::string_view::npos && s.rfind("group:", 0) != 0 &&
         s.rfind("user:", 0) != 0;
}

// Allocates synthetic device addresses that collide with nothing in the inventory.
struct AddressAllocator {
  std::set<ip::Address> used;
  std::uint32_t next = 0;
  std::pair<ip::Address, ip::Address> take() {
    for (;;) {
      ++next;
      // 100.127.x.y counting down from the top of the CGNAT range, fd7a:115c:a1e0:ffff::n.
      const std::uint32_t v4 = (100U << 24) | (127U << 16) | (0xFFFFU - (next & 0xFFFFU));
      auto a4 = detail::v4_address(v4);
      detail::U128 v6{0xfd7a115ca1e0ffffULL, next};
      auto a6 = detail::v6_address(v6);
      if (used.count(a4) == 0 && used.count(a6) == 0) {
        used.insert(a4);
        used.insert(a6);
        return {a4, a6};
      }
    }
  }
};

struct Augmenter {
  const policy::Ast& ast;
  Inventory inv;
  AddressAllocator alloc;
  int synthetic = 0;

  bool has_user_device(const std::string& login) const {
    return std::any_of(inv.devices.begin(), inv.devices.end(),
                       [&](const Device& d) { return !d.tagged() && d.user == login; });
  }
  bool has_tag_device(const std::string& tag) const {
    return std::any_of(inv.devices.begin(), inv.devices.end(), [&](const Device& d) {
      return std::find(d.tags.begin(), d.tags.end(), tag) != d.tags.end();
    });
  }
  void add_device(const std::string& user, const std::vector<std::string>& tags) {
    Device d;
    ++synthetic;
    d.id = "synthetic-" + std::to_string(synthetic);
    d.node_id = d.id;
    d.hostname = d.id;
    d.name = d.id + ".postern.test";
    auto [a4, a6] = alloc.take();
    d.addresses = {a4, a6};
    d.user = user;
    d.tags = tags;
    inv.devices.push_back(std::move(d));
    if (!user.empty() && tags.empty()) {
      const bool known = std::any_of(inv.users.begin(), inv.users.end(),
                                     [&](const User& u) { return u.login == user; });
      if (!known) inv.users.push_back(User{user, "member", false});
    }
  }
  // Make sure the identity named by `name` has at least one device.
  void ensure(const std::string& name) {
    if (name.rfind("tag:", 0) == 0) {
      if (!has_tag_device(name) && ast.tag_owners.count(name) != 0) add_device("", {name});
    } else if (name.rfind("group:", 0) == 0) {
      auto g = ast.groups.find(name);
      if (g == ast.groups.end() || g->second.empty()) return;
      for (const auto& m : g->second) {
        if (has_user_device(m.value)) return;
      }
      add_device(g->second.front().value, {});  // a representative member
    } else if (is_user_login(name)) {
      if (!has_user_device(name)) add_device(name, {});
    }
  }
};

// Host part of a test destination `host:port`.
struct TestDst {
  std::string host;
  std::uint16_t port = 0;
};

std::optional<TestDst> split_test_dst(const std::string& text, std::string& error) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    error = "missing port";
    return std::nullopt;
  }
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    error = "port must be a single number";
    return std::nullopt;
  }
  const unsigned long value = std::stoul(port);
  if (value > 65535) {
    error = "port must be at most 65535";
    return std::nullopt;
  }
  TestDst d;
  d.host = text.substr(0, colon);
  d.port = static_cast<std::uint16_t>(value);
  if (d.host.size() >= 2 && d.host.front() == '[' && d.host.back() == ']') {
    d.host = d.host.substr(1, d.host.size() - 2);
  }
  return d;
}

// Addresses an identity or address names (spec §6.1); empty with `error` set when it cannot.
std::vector<ip::Address> resolve(const policy::Ast& ast, const Inventory& inv,
                                 const std::string& name, std::string& error) {
  std::vector<ip::Address> out;
  auto add_devices = [&](auto pred) {
    for (const auto& d : inv.devices) {
      if (pred(d)) out.insert(out.end(), d.addresses.begin(), d.addresses.end());
    }
  };
  if (auto a = ip::parse_address(name)) return {*a};
  if (name.find('/') != std::string::npos) {
    error = "a test address cannot be a CIDR";
    return {};
  }
  std::string alias = name.rfind("host:", 0) == 0 ? name.substr(5) : name;
  if (auto h = ast.host_prefixes.find(alias); h != ast.host_prefixes.end()) {
    const unsigned full = h->second.address.v6 ? 128U : 32U;
    if (h->second.length != full) {
      error = "host `" + alias + "` is a CIDR, not a single address";
      return {};
    }
    return {h->second.address};
  }
  if (name.rfind("tag:", 0) == 0) {
    add_devices([&](const Device& d) {
      return std::find(d.tags.begin(), d.tags.end(), name) != d.tags.end();
    });
  } else if (name.rfind("group:", 0) == 0) {
    auto g = ast.groups.find(name);
    if (g != ast.groups.end()) {
      std::set<std::string> members;
      for (const auto& m : g->second) members.insert(m.value);
      add_devices([&](const Device& d) { return !d.tagged() && members.count(d.user) != 0; });
    }
  } else if (is_user_login(name)) {
    add_devices([&](const Device& d) { return !d.tagged() && d.user == name; });
  } else {
    error = "unknown user, group, tag or host `" + name + "`";
    return {};
  }
  if (out.empty()) {
    error = "no associated IPs for `" + name + "` (check spelling, or it may have no devices)";
  }
  return out;
}

AttrMap to_attrs(const std::map<std::string, policy::AttrLiteral>& lits) {
  AttrMap out;
  for (const auto& entry : lits) {
    std::visit([&](const auto& x) { out.emplace(entry.first, AttrValue{x}); }, entry.second);
  }
  return out;
}

std::string explain_text(const Decision& d) {
  std::string out;
  for (const auto& nm : d.near_misses) {
    if (!out.empty()) out += "; ";
    out += rule_name(nm.rule) + " (line " + std::to_string(nm.rule.line) + ") would accept it";
    out += nm.from_default ? " but defaultSrcPosture fails:" : " but srcPosture fails:";
    for (const auto& pf : nm.postures) {
      for (const auto& c : pf.conditions) {
        out += " `" + pf.posture + "`: `" + c.text +
               "` (actual: " + (c.actual ? attr_value_text(*c.actual) : std::string("unset")) + ")";
      }
    }
  }
  return out;
}

}  // namespace

TestRunResult run_policy_tests(const grammar::SourceFile& file, const policy::Ast& ast,
                               const Inventory* inventory, CompileOptions options) {
  TestRunResult result;
  if (ast.tests.empty()) {
    run_ssh_tests(file, ast, inventory, options, result);
    return result;
  }
  Augmenter aug{ast, inventory != nullptr ? *inventory : Inventory{}, {}, 0};
  for (const auto& d : aug.inv.devices) {
    for (const auto& a : d.addresses) aug.alloc.used.insert(a);
  }
  for (const auto& t : ast.tests) {
    aug.ensure(t.src.value);
    for (const auto* list : {&t.accept, &t.deny}) {
      for (const auto& item : *list) {
        std::string ignored;
        if (auto d = split_test_dst(item.value, ignored)) aug.ensure(d->host);
      }
    }
  }
  auto engine = Engine::compile(file, ast, aug.inv, options);
  auto snap = engine->snapshot();
  const Inventory& inv = snap->inventory();

  std::map<std::string, std::size_t> by_user;  // src -> index in failures
  auto fail = [&](const policy::TestCase& t, const policy::Text& at, std::string error,
                  std::string diag_message, std::string help) {
    result.passed = false;
    auto it = by_user.find(t.src.value);
    if (it == by_user.end()) {
      it = by_user.emplace(t.src.value, result.failures.size()).first;
      result.failures.push_back(TestSourceResult{t.src.value, {}, {}, t.span});
    }
    result.failures[it->second].errors.push_back(std::move(error));
    result.diagnostics.push_back(
        grammar::make_error(DiagCode::T401, at.span, std::move(diag_message), std::move(help)));
  };

  for (const auto& t : ast.tests) {
    ++result.tests_run;
    std::string src_error;
    const auto srcs = resolve(ast, inv, t.src.value, src_error);
    if (srcs.empty()) {
      fail(t, t.src, src_error, "test source `" + t.src.value + "`: " + src_error,
           "a test source must be a user, group, tag, host alias or address with a device");
      continue;
    }
    const AttrMap attrs = to_attrs(t.src_posture_attrs);
    std::vector<std::uint8_t> protos;
    const bool icmp = t.proto.number.has_value() &&
                      (*t.proto.number == kProtoIcmp || *t.proto.number == kProtoIcmpV6);
    if (t.proto.number.has_value()) {
      protos = {*t.proto.number};
    } else {
      protos = {kProtoTcp, kProtoUdp};  // "either TCP or UDP" (spec §6.1)
    }
    for (int want_accept = 1; want_accept >= 0; --want_accept) {
      for (const auto& item : want_accept == 1 ? t.accept : t.deny) {
        std::string error;
        auto dst = split_test_dst(item.value, error);
        std::vector<ip::Address> dsts;
        if (dst) dsts = resolve(ast, inv, dst->host, error);
        if (dst && !icmp && dst->port == 0)
          error = "port 0 is only valid with `\"proto\": \"icmp\"`";
        if (!dst || dsts.empty() || !error.empty()) {
          fail(t, item, "address \"" + item.value + "\": " + error,
               "invalid test destination `" + item.value + "`: " + error,
               "use `host:port` with one numeric port; host is a user, group, tag, host alias or "
               "IP (IPv6 in brackets)");
          continue;
        }
        // Every source address against every destination address of the same family.
        bool pass = true;
        Decision witness;
        for (const auto& s : srcs) {
          for (const auto& d : dsts) {
            if (s.v6 != d.v6) continue;
            bool any = false;
            Decision last;
            for (auto p : protos) {
              Request q;
              q.src = s;
              q.dst = d;
              q.proto = (p == kProtoIcmp && d.v6) ? kProtoIcmpV6 : p;
              q.port = dst->port;
              q.src_attrs = &attrs;
              last = snap->check(q);
              any = any || last.allow;
            }
            if (any != (want_accept == 1)) {
              pass = false;
              witness = last;
            }
          }
        }
        if (pass) continue;
        const std::string proto_part =
            t.proto.number.has_value() ? " (protocol \"" + t.proto.source.value + "\")" : "";
        const std::string want = want_accept == 1 ? "Accept" : "Drop";
        const std::string got = want_accept == 1 ? "Drop" : "Accept";
        std::string help;
        if (want_accept == 1) {
          help = explain_text(witness);
          if (help.empty()) help = "no rule accepts this source, destination, protocol and port";
        } else if (witness.rule) {
          help = rule_name(*witness.rule) + " (line " + std::to_string(witness.rule->line) +
                 ") accepts it";
        }
        fail(t, item,
             "address \"" + item.value + "\"" + proto_part + ": want: " + want + ", got: " + got,
             "test `" + t.src.value + "` → `" + item.value + "`: want " +
                 (want_accept == 1 ? "accept" : "deny") + ", got " +
                 (want_accept == 1 ? "deny" : "accept"),
             help);
      }
    }
  }
  run_ssh_tests(file, ast, inventory, options, result);  // Tailscale runs both on every save
  return result;
}

}  // namespace postern::engine
