#include "engine_fixture.hpp"

#include <catch2/catch.hpp>
#include <map>

namespace postern::test {
namespace ip = grammar::ip;
using engine::AttrValue;

namespace {

engine::Device device(std::string host, std::string user, std::vector<std::string> tags,
                      std::vector<std::string> addrs, engine::AttrMap attrs) {
  engine::Device d;
  d.id = "id-" + host;
  d.node_id = "n" + host;
  d.hostname = host;
  d.name = host + ".fixture.ts.net";
  d.user = std::move(user);
  d.tags = std::move(tags);
  for (const auto& a : addrs) d.addresses.push_back(*ip::parse_address(a));
  d.attributes = std::move(attrs);
  return d;
}

const std::map<std::string, std::string>& v4_of() {
  static const std::map<std::string, std::string> m = {
      {"D1", "100.64.0.1"},  {"D2", "100.64.0.2"},  {"D3", "100.64.0.3"},  {"D4", "100.64.0.4"},
      {"D5", "100.64.0.5"},  {"S1", "100.64.0.10"}, {"S2", "100.64.0.11"}, {"R1", "100.64.0.12"},
      {"X1", "100.64.0.50"}, {"N1", "10.20.1.5"}};
  return m;
}

const std::map<std::string, std::string>& v6_of() {
  static const std::map<std::string, std::string> m = {
      {"D1", "fd7a:115c:a1e0::1"}, {"D2", "fd7a:115c:a1e0::2"}, {"D3", "fd7a:115c:a1e0::3"},
      {"D4", "fd7a:115c:a1e0::4"}, {"D5", "fd7a:115c:a1e0::5"}, {"S1", "fd7a:115c:a1e0::a"},
      {"S2", "fd7a:115c:a1e0::b"}, {"R1", "fd7a:115c:a1e0::c"}};
  return m;
}

}  // namespace

engine::Inventory fixture_inventory() {
  engine::Inventory inv;
  inv.users = {{"alice@example.com", "admin", false},
               {"bob@example.com", "member", false},
               {"carol@example.com", "member", false},
               {"dave@partner.net", "member", true}};
  auto dev = [&](const std::string& h, std::string user, std::vector<std::string> tags,
                 engine::AttrMap attrs) {
    std::vector<std::string> addrs{v4_of().at(h)};
    if (v6_of().count(h) != 0) addrs.push_back(v6_of().at(h));
    inv.devices.push_back(device(h, std::move(user), std::move(tags), addrs, std::move(attrs)));
  };
  dev("D1", "alice@example.com", {},
      {{"node:os", "macos"},
       {"node:osVersion", "14.5.0"},
       {"node:tsVersion", "1.86.2"},
       {"node:tsReleaseTrack", "stable"},
       {"node:tsAutoUpdate", true},
       {"node:tsStateEncrypted", true},
       {"ip:country", "US"},
       {"kandji:agentInstalled", true},
       {"kandji:mdmEnabled", true}});
  dev("D2", "alice@example.com", {},
      {{"node:os", "ios"},
       {"node:osVersion", "17.5.1"},
       {"node:tsVersion", "1.84.0"},
       {"node:tsReleaseTrack", "stable"},
       {"node:tsAutoUpdate", false},
       {"ip:country", "CA"}});
  dev("D3", "bob@example.com", {},
      {{"node:os", "linux"},
       {"node:osVersion", "6.8.0-45-generic"},
       {"node:tsVersion", "1.62.1"},
       {"node:tsReleaseTrack", "unstable"},
       {"node:tsAutoUpdate", true},
       {"custom:tier", "gold"},
       {"custom:score", 87.0},
       {"falcon:ztaScore", 65.0}});
  dev("D4", "bob@example.com", {},
      {{"node:os", "windows"},
       {"node:osVersion", "10.0.22631.3880"},
       {"node:tsVersion", "1.90.0"},
       {"node:tsReleaseTrack", "stable"},
       {"node:tsAutoUpdate", true},
       {"ip:country", "DE"},
       {"intune:complianceState", "compliant"},
       {"intune:isSupervised", false},
       {"falcon:ztaScore", 85.0},
       {"kandji:agentInstalled", false}});
  dev("D5", "carol@example.com", {},
      {{"node:os", "macos"},
       {"node:osVersion", "13.6.1"},
       {"node:tsVersion", "1.40"},
       {"node:tsReleaseTrack", "stable"},
       {"node:tsAutoUpdate", false},
       {"kandji:agentInstalled", true},
       {"custom:prodAccess", true}});
  inv.devices.back().expiries["custom:prodAccess"] = kFixtureNow + 365 * 86400;
  dev("S1", "bob@example.com", {"tag:web"},
      {{"node:os", "linux"}, {"node:tsVersion", "1.86.2"}, {"node:tsReleaseTrack", "stable"}});
  dev("S2", "alice@example.com", {"tag:db", "tag:prod"}, {{"node:os", "linux"}});
  dev("R1", "alice@example.com", {"tag:router"}, {{"node:os", "linux"}});
  inv.devices.back().enabled_routes.push_back(*ip::parse_prefix("10.20.0.0/16"));
  dev("X1", "dave@partner.net", {}, {});
  inv.devices.back().is_external = true;
  return inv;
}

std::string prelude(const std::string& extra) {
  return R"({
  "groups": {
    "group:eng":    ["bob@example.com", "carol@example.com"],
    "group:admins": ["alice@example.com"],
  },
  "tagOwners": {
    "tag:web":    ["autogroup:admin"],
    "tag:db":     ["autogroup:admin"],
    "tag:prod":   ["autogroup:admin"],
    "tag:router": ["autogroup:admin"],
  },
  "hosts": {
    "corp-lan": "10.20.0.0/16",
  },
)" + extra +
         "\n}\n";
}

Compiled compile_with(const std::string& policy_text, const engine::Inventory& inventory) {
  Compiled c;
  c.loaded = engine::load_policy("policy.hujson", policy_text, engine::validate_context(inventory));
  INFO(grammar::render_all(c.loaded.file, c.loaded.diags));
  REQUIRE(c.loaded.ok());
  c.engine = engine::Engine::compile(c.loaded.file, *c.loaded.ast, inventory,
                                     engine::CompileOptions{kFixtureNow});
  return c;
}

Compiled compile_fixture(const std::string& policy_text) {
  return compile_with(policy_text, fixture_inventory());
}

ip::Address addr(const std::string& name, bool v6) {
  const auto& table = v6 ? v6_of() : v4_of();
  auto it = table.find(name);
  if (it != table.end()) return *ip::parse_address(it->second);
  auto a = ip::parse_address(name);
  REQUIRE(a.has_value());
  return *a;
}

engine::Decision ask(const engine::Engine& engine, const std::string& src, const std::string& dst,
                     const std::string& proto, std::uint16_t port, bool v6) {
  engine::Request q;
  q.src = addr(src, v6);
  q.dst = addr(dst, v6);
  auto number = grammar::policy::parse_proto(proto);
  REQUIRE(number.has_value());
  q.proto = *number;
  if (q.proto == engine::kProtoIcmp && v6) q.proto = engine::kProtoIcmpV6;
  q.port = port;
  return engine.check(q);
}

bool allows(const engine::Engine& engine, const std::string& src, const std::string& dst,
            const std::string& proto, std::uint16_t port, bool v6) {
  return ask(engine, src, dst, proto, port, v6).allow;
}

}  // namespace postern::test
