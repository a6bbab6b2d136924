// Differential test: random inventories, policies, queries and attribute-update sequences; the
// compiled engine must agree with the reference evaluator on every decision, and an engine
// updated incrementally must agree with a fresh compile of the final attributes.
//
// Deterministic for a seed. Environment: POSTERN_DIFF_SEED (default 20261125),
// POSTERN_DIFF_POLICIES (default 1000), POSTERN_DIFF_QUERIES (default 200 per policy).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <sstream>

#include "postern/engine/policy_load.hpp"
#include "postern/engine/engine.hpp"
#include "reference_evaluator.hpp"
#include "seeded_random.hpp"

namespace differential_test {

using namespace postern;
namespace ip = grammar::ip;

namespace {

using test::env_number;

using Random = test::SeededRandom;

constexpr std::int64_t kStart = 1'800'000'000;  // 2027-01-15

const std::vector<std::string> kLogins = {"ann@example.com", "ben@example.com", "cy@example.com",
                                          "di@corp.io", "ed@example.com"};
const std::vector<std::string> kRoles = {"owner",  "admin",         "member",
                                         "member", "network-admin", "auditor"};
const std::vector<std::string> kTags = {"tag:a", "tag:b", "tag:c", "tag:d"};
const std::vector<std::string> kRoutes = {"10.1.0.0/16", "10.2.0.0/16", "192.168.7.0/24",
                                          "0.0.0.0/0",   "fd00:1::/64", "::/0"};

// Attribute keys with the values random devices and conditions draw from; versions include the
// cmpver corner cases of spec §5.5.
struct AttrPool {
  std::string key;
  std::vector<engine::AttrValue> values;
};
const std::vector<AttrPool>& attr_pool() {
  static const std::vector<AttrPool> pool = {
      {"node:os",
       {std::string("macos"), std::string("linux"), std::string("windows"), std::string("ios")}},
      {"node:tsVersion",
       {std::string("1.40"), std::string("1.40.0"), std::string("1.62.1"), std::string("1.9"),
        std::string("1.100.0"), std::string("1.02"), std::string("1.2"),
        std::string("1.40.0-t1a2b")}},
      {"node:osVersion",
       {std::string("14"), std::string("14.5.0"), std::string("13.6.1"),
        std::string("10.0.22631.3880")}},
      {"node:tsAutoUpdate", {true, false, std::string("true")}},
      {"custom:tier", {std::string("gold"), std::string("silver"), 87.0}},
      {"custom:score", {50.0, 80.0, 87.0, 100.0, std::string("87")}},
      {"kandji:agentInstalled", {true, false}},
      {"ip:country", {std::string("US"), std::string("CA"), std::string("DE"), std::string("KP")}},
  };
  return pool;
}

std::string literal(const engine::AttrValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return "'" + *s + "'";
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  std::ostringstream out;
  out << std::get<double>(value);
  return out.str();
}

bool is_version_key(const std::string& key) {
  return key == "node:tsVersion" || key == "node:osVersion";
}

std::string random_condition(Random& rng) {
  const auto& attr = rng.pick(attr_pool());
  const auto& value = rng.pick(attr.values);
  // Ordering only where validation allows it: numbers and version attributes.
  const bool numeric = std::holds_alternative<double>(value);
  std::vector<std::string> ops = {"==", "!=", "IS SET", "NOT SET", "IN", "NOT IN"};
  if (numeric || (is_version_key(attr.key) && std::holds_alternative<std::string>(value))) {
    ops.insert(ops.end(), {"<", "<=", ">", ">="});
  }
  if (std::holds_alternative<bool>(value)) ops.push_back("");
  const auto& op = rng.pick(ops);
  if (op.empty()) return attr.key;
  if (op == "IS SET" || op == "NOT SET") return attr.key + " " + op;
  if (op == "IN" || op == "NOT IN") {
    // Lists of one type (validation rejects mixed lists).
    std::string list = "[" + literal(value);
    for (const auto& other : attr.values) {
      if (other.index() == value.index() && other != value && rng.chance(0.4)) {
        list += ", " + literal(other);
      }
    }
    return attr.key + " " + op + " " + list + "]";
  }
  return attr.key + " " + op + " " + literal(value);
}

engine::Inventory random_inventory(Random& rng) {
  engine::Inventory inv;
  for (std::size_t i = 0; i < kLogins.size(); ++i) {
    inv.users.push_back({kLogins[i], rng.pick(kRoles), false});
  }
  // The tailnet's domain is its owners' (make_validate_context): ann owns it, so the generated
  // `user:*@example.com` is always associated with the tailnet (di@corp.io may co-own it).
  inv.users.front().role = "owner";
  inv.users.push_back({"xo@partner.net", "member", true});
  const std::size_t count = 5 + rng.below(10);
  for (std::size_t i = 0; i < count; ++i) {
    engine::Device d;
    d.id = std::to_string(100 + i);
    d.node_id = "n" + d.id;
    d.hostname = "dev" + std::to_string(i);
    d.name = d.hostname + ".example.ts.net";
    d.addresses.push_back(*ip::parse_address("100.64.0." + std::to_string(i + 1)));
    if (rng.chance(0.8)) {
      d.addresses.push_back(*ip::parse_address("fd7a:115c:a1e0::" + std::to_string(i + 1)));
    }
    const auto kind = rng.below(10);
    if (kind < 6) {
      // Users outside `users` are plain members.
      d.user = rng.chance(0.9) ? rng.pick(kLogins) : "stray@example.com";
    } else if (kind < 9) {
      d.user = rng.pick(kLogins);
      d.tags.push_back(rng.pick(kTags));
      if (rng.chance(0.3)) d.tags.push_back(rng.pick(kTags));
      if (rng.chance(0.4)) d.enabled_routes.push_back(*ip::parse_prefix(rng.pick(kRoutes)));
    } else {
      d.user = "xo@partner.net";
      d.is_external = true;
    }
    for (const auto& attr : attr_pool()) {
      if (rng.chance(0.6)) d.attributes[attr.key] = rng.pick(attr.values);
    }
    for (const auto& [key, value] : d.attributes) {
      if (rng.chance(0.15)) {
        d.expiries[key] = kStart + static_cast<std::int64_t>(rng.below(400)) - 100;
      }
    }
    inv.devices.push_back(std::move(d));
  }
  return inv;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return "[" + out + "]";
}

struct PolicyShape {
  std::vector<std::string> postures;
};

std::vector<std::string> random_sources(Random& rng, bool identity_only) {
  static const std::vector<std::string> identities = {
      "*",        "ann@example.com",  "ben@example.com", "di@corp.io",      "group:g0",
      "group:g1", "autogroup:member", "autogroup:admin", "autogroup:owner", "user:*@example.com"};
  static const std::vector<std::string> others = {"tag:a",
                                                  "tag:b",
                                                  "tag:c",
                                                  "autogroup:tagged",
                                                  "autogroup:shared",
                                                  "autogroup:danger-all",
                                                  "h-lan",
                                                  "host:h-node",
                                                  "10.1.0.0/16",
                                                  "100.64.0.3",
                                                  "fd7a:115c:a1e0::4",
                                                  "ipset:s0",
                                                  "192.168.7.0/24"};
  std::vector<std::string> out;
  const std::size_t n = 1 + rng.below(3);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(identity_only || rng.chance(0.5) ? rng.pick(identities) : rng.pick(others));
  }
  return out;
}

std::string random_dst_selector(Random& rng) {
  static const std::vector<std::string> pool = {"*",
                                                "tag:a",
                                                "tag:b",
                                                "tag:c",
                                                "tag:d",
                                                "ann@example.com",
                                                "group:g0",
                                                "autogroup:member",
                                                "autogroup:internet",
                                                "h-lan",
                                                "host:h-node",
                                                "10.1.0.0/16",
                                                "100.64.0.2",
                                                "[fd7a:115c:a1e0::3]",
                                                "ipset:s0",
                                                "192.168.7.0/24",
                                                "autogroup:tagged"};
  return rng.pick(pool);
}

std::string random_posture_field(Random& rng, const PolicyShape& shape) {
  if (shape.postures.empty() || !rng.chance(0.5)) return "";
  std::vector<std::string> names;
  const std::size_t n = 1 + rng.below(2);
  for (std::size_t i = 0; i < n; ++i) names.push_back(rng.pick(shape.postures));
  return ", \"srcPosture\": " + join(names);
}

std::string random_acl(Random& rng, const PolicyShape& shape) {
  const bool self = rng.chance(0.15);
  const auto src = random_sources(rng, self);
  static const std::vector<std::string> protos = {"",     "",    "",     "tcp", "udp",
                                                  "icmp", "gre", "sctp", "17",  "ipv6-icmp"};
  const auto& proto = rng.pick(protos);
  const bool port_proto =
      proto.empty() || proto == "tcp" || proto == "udp" || proto == "sctp" || proto == "17";
  static const std::vector<std::string> ports = {"*",  "22", "80,443", "1000-2000", "22,8000-8100",
                                                 "53", "443"};
  std::vector<std::string> dst;
  const std::size_t n = 1 + rng.below(2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto selector = self && i == 0 ? std::string("autogroup:self") : random_dst_selector(rng);
    dst.push_back(selector + ":" + (port_proto ? rng.pick(ports) : std::string("*")));
  }
  std::string rule = "{\"action\": \"accept\", \"src\": " + join(src) + ", \"dst\": " + join(dst);
  if (!proto.empty()) rule += ", \"proto\": " + quoted(proto);
  return rule + random_posture_field(rng, shape) + "}";
}

std::string random_grant(Random& rng, const PolicyShape& shape) {
  const bool self = rng.chance(0.1);
  auto src = random_sources(rng, self);
  if (self) {
    for (auto& s : src) {
      if (s == "*") s = "autogroup:member";  // grants reject `*` with autogroup:self
    }
  }
  std::vector<std::string> dst;
  const std::size_t n = 1 + rng.below(2);
  for (std::size_t i = 0; i < n; ++i) {
    auto selector = self && i == 0 ? std::string("autogroup:self") : random_dst_selector(rng);
    if (selector.front() == '[') selector = selector.substr(1, selector.size() - 2);
    dst.push_back(selector);
  }
  static const std::vector<std::string> ip_items = {
      "*", "443", "tcp:22", "udp:53", "icmp:*", "tcp:80-90", "sctp:*", "47:*", "22,80"};
  std::vector<std::string> ips;
  const std::size_t k = 1 + rng.below(2);
  for (std::size_t i = 0; i < k; ++i) ips.push_back(rng.pick(ip_items));
  std::string grant =
      "{\"src\": " + join(src) + ", \"dst\": " + join(dst) + ", \"ip\": " + join(ips);
  if (rng.chance(0.1)) grant += ", \"via\": [\"tag:a\"]";
  return grant + random_posture_field(rng, shape) + "}";
}

std::string random_policy(Random& rng) {
  PolicyShape shape;
  std::ostringstream out;
  out << "{\n  \"groups\": {\"group:g0\": [\"ann@example.com\", \"ben@example.com\"], "
         "\"group:g1\": [\"di@corp.io\", \"stray@example.com\", \"xo@partner.net\"]},\n"
         "  \"tagOwners\": {\"tag:a\": [], \"tag:b\": [], \"tag:c\": [], \"tag:d\": []},\n"
         "  \"hosts\": {\"h-lan\": \"10.1.2.0/24\", \"h-node\": \"100.64.0.4\"},\n"
         "  \"ipsets\": {\"ipset:s0\": [\"add 10.1.0.0/16\", \"remove 10.1.3.0/24\", "
         "\"add host:h-node\", \"add 100.64.0.6-100.64.0.8\"]},\n";
  const std::size_t postures = rng.below(4);
  if (postures > 0) {
    out << "  \"postures\": {";
    for (std::size_t i = 0; i < postures; ++i) {
      const auto name = "posture:p" + std::to_string(i);
      shape.postures.push_back(name);
      std::vector<std::string> conditions;
      const std::size_t c = 1 + rng.below(3);
      for (std::size_t j = 0; j < c; ++j) conditions.push_back(random_condition(rng));
      out << (i ? ", " : "") << quoted(name) << ": " << join(conditions);
    }
    out << "},\n";
    if (rng.chance(0.4)) {
      out << "  \"defaultSrcPosture\": " << join({rng.pick(shape.postures)}) << ",\n";
    }
  }
  const auto shape_kind = rng.below(20);
  if (shape_kind == 0) {
    // Neither acls nor grants: allow all.
  } else if (shape_kind == 1) {
    out << "  \"acls\": [],\n";
  } else {
    std::vector<std::string> acls;
    std::vector<std::string> grants;
    const std::size_t a = rng.below(5);
    for (std::size_t i = 0; i < a; ++i) acls.push_back(random_acl(rng, shape));
    const std::size_t g = rng.chance(0.5) ? rng.below(3) : 0;
    for (std::size_t i = 0; i < g; ++i) grants.push_back(random_grant(rng, shape));
    if (acls.empty() && grants.empty()) acls.push_back(random_acl(rng, shape));
    auto section = [&](const char* key, const std::vector<std::string>& items) {
      out << "  \"" << key << "\": [\n";
      for (const auto& item : items) out << "    " << item << ",\n";
      out << "  ],\n";
    };
    if (!acls.empty()) section("acls", acls);
    if (!grants.empty()) section("grants", grants);
  }
  out << "}\n";
  return out.str();
}

ip::Address random_address(Random& rng, const engine::Inventory& inv, bool v6) {
  static const std::vector<std::string> v4_other = {"10.1.2.3",     "10.1.3.9",  "10.2.0.1",
                                                    "192.168.7.7",  "8.8.8.8",   "100.64.9.9",
                                                    "100.115.92.5", "172.16.0.1"};
  static const std::vector<std::string> v6_other = {"fd7a:115c:a1e0::99", "2001:db8::1",
                                                    "fd00:1::5", "fe80::1"};
  if (rng.chance(0.7)) {
    const auto& d = inv.devices[rng.below(inv.devices.size())];
    for (const auto& a : d.addresses) {
      if (a.v6 == v6) return a;
    }
  }
  return *ip::parse_address(v6 ? rng.pick(v6_other) : rng.pick(v4_other));
}

struct RandomQuery {
  test::RefQuery ref;
  std::optional<test::RefAttrs> attrs;
};

RandomQuery random_query(Random& rng, const engine::Inventory& inv) {
  RandomQuery q;
  const bool v6 = rng.chance(0.3);
  q.ref.src = random_address(rng, inv, v6);
  q.ref.dst = random_address(rng, inv, rng.chance(0.03) ? !v6 : v6);
  static const std::vector<std::uint8_t> protos = {6, 6, 6, 17, 17, 1, 58, 132, 47, 50};
  q.ref.proto = rng.pick(protos);
  static const std::vector<std::uint16_t> ports = {0, 22, 53, 80, 85, 443, 1500, 8050, 65535};
  q.ref.port = rng.pick(ports);
  if (rng.chance(0.1)) {
    q.attrs.emplace();
    for (const auto& attr : attr_pool()) {
      if (rng.chance(0.5)) (*q.attrs)[attr.key] = rng.pick(attr.values);
    }
  }
  return q;
}

std::string describe(const RandomQuery& q) {
  std::ostringstream out;
  out << ip::to_string(q.ref.src) << " -> " << ip::to_string(q.ref.dst) << " proto "
      << int{q.ref.proto} << " port " << q.ref.port << " now " << q.ref.now;
  if (q.attrs) {
    out << " attrs {";
    for (const auto& [k, v] : *q.attrs) out << k << "=" << literal(v) << " ";
    out << "}";
  }
  return out.str();
}

std::string describe(const engine::Inventory& inventory) {
  std::ostringstream out;
  for (const auto& d : inventory.devices) {
    out << d.hostname << " user=" << d.user << (d.is_external ? " external" : "");
    for (const auto& a : d.addresses) out << " " << ip::to_string(a);
    for (const auto& t : d.tags) out << " " << t;
    for (const auto& r : d.enabled_routes) out << " route=" << ip::to_string(r);
    for (const auto& [k, v] : d.attributes) {
      out << " " << k << "=" << literal(v);
      if (const auto e = d.expiries.find(k); e != d.expiries.end()) out << "@" << e->second;
    }
    out << "\n";
  }
  return out.str();
}

bool engine_allows(const engine::Engine& engine, const RandomQuery& q) {
  engine::AttrMap attrs;
  if (q.attrs) attrs.insert(q.attrs->begin(), q.attrs->end());
  engine::Request request;
  request.src = q.ref.src;
  request.dst = q.ref.dst;
  request.proto = q.ref.proto;
  request.port = q.ref.port;
  request.src_attrs = q.attrs ? &attrs : nullptr;
  request.explain = false;
  return engine.check(request).allow;
}

// A random change set for one device, applied to the model inventory the same way the engine
// applies it (engine.hpp AttrChange: set replaces value and expiry, delete drops both).
std::vector<engine::AttrChange> random_changes(Random& rng, engine::Device& device,
                                               std::int64_t now) {
  std::vector<engine::AttrChange> changes;
  const std::size_t n = 1 + rng.below(3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& attr = rng.pick(attr_pool());
    const auto kind = rng.below(10);
    if (kind < 5) {
      const auto& value = rng.pick(attr.values);
      std::optional<std::int64_t> expiry;
      if (rng.chance(0.3)) expiry = now + static_cast<std::int64_t>(rng.below(60));
      changes.push_back(engine::AttrChange::set(attr.key, value, expiry));
      device.attributes[attr.key] = value;
      if (expiry) {
        device.expiries[attr.key] = *expiry;
      } else {
        device.expiries.erase(attr.key);
      }
    } else if (kind < 8) {
      changes.push_back(engine::AttrChange::remove(attr.key));
      device.attributes.erase(attr.key);
      device.expiries.erase(attr.key);
    } else {
      const auto at = now + static_cast<std::int64_t>(rng.below(60)) - 10;
      changes.push_back(engine::AttrChange::set_expiry(attr.key, at));
      device.expiries[attr.key] = at;
    }
  }
  return changes;
}

// Client-side matching of a compiled packet filter (spec §7.3, §7.6) for one TCP or UDP packet.
bool in_src_ips(const std::vector<std::string>& src_ips, const ip::Address& src) {
  for (const auto& text : src_ips) {
    if (text == "*") return true;
    if (const auto range = ip::parse_range(text)) {
      if (range->first.v6 == src.v6 && range->first <= src && src <= range->last) return true;
    } else if (const auto prefix = ip::parse_prefix(text)) {
      if (ip::contains(*prefix, src)) return true;
    }
  }
  return false;
}

bool filter_admits(const std::vector<engine::FilterRule>& rules, const ip::Address& src,
                   const ip::Address& dst, std::uint8_t proto, std::uint16_t port) {
  for (const auto& r : rules) {
    const bool proto_ok = r.ip_proto.empty() ? (proto == 6 || proto == 17)
                                             : std::find(r.ip_proto.begin(), r.ip_proto.end(),
                                                         int{proto}) != r.ip_proto.end();
    if (!proto_ok || !in_src_ips(r.src_ips, src)) continue;
    for (const auto& d : r.dst_ports) {
      if (d.ports.first > port || port > d.ports.last) continue;
      if (d.ip == "*" || in_src_ips({d.ip}, dst)) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("the engine agrees with the reference evaluator on random policies",
          "[engine][differential]") {
  const auto seed = env_number("POSTERN_DIFF_SEED", 20261125);
  const auto policies = env_number("POSTERN_DIFF_POLICIES", 1000);
  const auto queries = env_number("POSTERN_DIFF_QUERIES", 200);
  std::size_t valid = 0;
  std::size_t checked = 0;
  std::size_t accepted = 0;
  std::size_t filter_checked = 0;
  std::string first_invalid;
  // Report up to a few disagreements (each with its policy, inventory and query), then stop.
  std::size_t mismatches = 0;
  auto agree = [&](bool engine_answer, bool expected) {
    CHECK(engine_answer == expected);
    if (engine_answer != expected) ++mismatches;
  };

  for (std::uint64_t p = 0; p < policies && mismatches < 5; ++p) {
    const auto policy_seed = seed * 1'000'003 + p;
    Random rng(policy_seed);
    auto inventory = random_inventory(rng);
    const auto text = random_policy(rng);
    const auto loaded = engine::load_policy("random.hujson", text, engine::validate_context(inventory));
    if (!loaded.ok()) {
      if (first_invalid.empty()) first_invalid = text + "\n" + grammar::render_all(loaded.file, loaded.diags);
      continue;
    }
    ++valid;
    const auto& ast = *loaded.ast;
    INFO("seed " << seed << " policy " << p << " (POSTERN_DIFF_SEED=" << seed << "); policy:\n"
                 << text);
    INFO("initial inventory:\n" << describe(inventory));

    // 1. Fresh compile against the reference.
    std::int64_t now = kStart;
    auto engine = engine::Engine::compile(loaded.file, ast, inventory, {.now = now});
    REQUIRE(engine);
    std::vector<RandomQuery> sample;
    for (std::uint64_t i = 0; i < queries; ++i) {
      auto q = random_query(rng, inventory);
      q.ref.now = now;
      q.ref.src_attrs = q.attrs ? &*q.attrs : nullptr;
      const bool want = test::ReferenceEvaluator(ast, inventory).allowed(q.ref);
      INFO("query " << describe(q));
      agree(engine_allows(*engine, q), want);
      ++checked;
      accepted += want ? 1 : 0;
      if (i < 40) sample.push_back(std::move(q));
    }

    // 2. Attribute updates and the passing of time, checked after every step.
    const std::size_t steps = 1 + rng.below(8);
    for (std::size_t s = 0; s < steps; ++s) {
      now += static_cast<std::int64_t>(rng.below(30));
      const auto index = rng.below(inventory.devices.size());
      INFO("step " << s << " device " << inventory.devices[index].hostname << " at " << now);
      if (rng.chance(0.2)) {
        engine->advance_time(now);
      } else {
        auto changes = random_changes(rng, inventory.devices[index], now);
        const auto result = engine->apply(static_cast<engine::DeviceIndex>(index), changes, now);
        REQUIRE(result.ok);
      }
      const test::ReferenceEvaluator reference(ast, inventory);
      for (std::size_t i = 0; i < 20; ++i) {
        auto q = random_query(rng, inventory);
        q.ref.now = now;
        q.ref.src_attrs = q.attrs ? &*q.attrs : nullptr;
        INFO("query " << describe(q));
        const bool want = reference.allowed(q.ref);
        agree(engine_allows(*engine, q), want);
        ++checked;
        accepted += want ? 1 : 0;
      }
    }

    // 3. The incrementally updated engine equals a fresh compile of the final state.
    engine->advance_time(now);
    const auto fresh = engine::Engine::compile(loaded.file, ast, inventory, {.now = now});
    const test::ReferenceEvaluator reference(ast, inventory);
    for (auto& q : sample) {
      q.ref.now = now;
      q.ref.src_attrs = q.attrs ? &*q.attrs : nullptr;
      INFO("final query " << describe(q));
      const bool incremental = engine_allows(*engine, q);
      INFO("incremental engine vs fresh compile");
      agree(incremental, engine_allows(*fresh, q));
      INFO("incremental engine vs reference");
      agree(incremental, reference.allowed(q.ref));
      ++checked;
    }

    // 4. The packet filter each node would receive admits exactly what check() accepts, for
    //    traffic from tailnet addresses to the node's own addresses and to hosts inside its
    //    approved routes (posture-failing sources are left out of SrcIPs).
    const auto snapshot = engine->snapshot();
    static const std::vector<std::uint16_t> kFilterPorts = {22, 80, 443, 1500, 8050};
    static const std::vector<ip::Address> kRoutedHosts = [] {
      std::vector<ip::Address> hosts;
      for (const char* host : {"10.1.2.3", "10.1.3.7", "10.2.0.9", "192.168.7.20", "8.8.8.8",
                               "fd00:1::5", "2001:4860::8888"}) {
        hosts.push_back(*ip::parse_address(host));
      }
      return hosts;
    }();
    for (engine::DeviceIndex dst = 0; dst < inventory.devices.size(); ++dst) {
      const auto filter = snapshot->filter_for(dst);
      // Described once per node, for the failure messages below.
      std::ostringstream filter_text;
      for (const auto& rule : filter) {
        filter_text << "\n  src";
        for (const auto& src_ip : rule.src_ips) filter_text << " " << src_ip;
        filter_text << " dst";
        for (const auto& d : rule.dst_ports) {
          filter_text << " " << d.ip << ":" << d.ports.first << "-" << d.ports.last;
        }
        filter_text << " proto";
        for (const auto number : rule.ip_proto) filter_text << " " << number;
      }
      const std::string filter_description = filter_text.str();
      const auto& dst_device = inventory.devices[dst];
      std::vector<ip::Address> destinations = dst_device.addresses;
      for (const auto& host : kRoutedHosts) {
        for (const auto& route : dst_device.enabled_routes) {
          if (ip::contains(route, host)) {
            destinations.push_back(host);
            break;
          }
        }
      }
      for (const auto& src_device : inventory.devices) {
        for (const auto& src_addr : src_device.addresses) {
          for (const auto& dst_addr : destinations) {
            if (src_addr.v6 != dst_addr.v6) continue;
            const auto port = kFilterPorts[rng.below(kFilterPorts.size())];
            const std::uint8_t proto = rng.chance(0.5) ? 6 : 17;
            engine::Request request;
            request.src = src_addr;
            request.dst = dst_addr;
            request.proto = proto;
            request.port = port;
            request.explain = false;
            INFO("filter of " << dst_device.hostname << ": " << ip::to_string(src_addr) << " -> "
                              << ip::to_string(dst_addr) << " proto " << int{proto} << " port "
                              << port);
            INFO("filter:" << filter_description);
            agree(filter_admits(filter, src_addr, dst_addr, proto, port),
                  snapshot->check(request).allow);
            ++filter_checked;
          }
        }
      }
    }
  }

  INFO("first invalid generated policy:\n" << first_invalid);
  // The generator writes valid policies; a rejected one means the generator or validation drifted.
  CHECK(valid == policies);
  // Both answers must occur often enough, or the comparison proves little (accepts run at
  // 2-7% of decisions across seeds: at least several hundred).
  CHECK(accepted > checked / 100);
  CHECK(accepted < checked - checked / 100);
  WARN("differential: seed " << seed << ", " << valid << " policies, " << checked
                             << " decisions compared, " << accepted << " accepts, "
                             << filter_checked << " filter entries compared");
}

}  // namespace differential_test
