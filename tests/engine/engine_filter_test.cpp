// Snapshot::filter_for (spec §7.6): per-node FilterRules with posture-failing sources left out.
#include <algorithm>
#include <catch2/catch.hpp>

#include "engine_fixture.hpp"

namespace engine_filter_test {

using namespace postern;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Whether SrcIPs admit `address`, as a client matches them (spec §7.6).
bool admits(const std::vector<std::string>& src_ips, const std::string& address) {
  const auto a = *grammar::ip::parse_address(address);
  for (const auto& text : src_ips) {
    if (text == "*") return true;
    if (const auto range = grammar::ip::parse_range(text)) {
      if (range->first.v6 == a.v6 && range->first <= a && a <= range->last) return true;
    } else if (const auto prefix = grammar::ip::parse_prefix(text)) {
      if (grammar::ip::contains(*prefix, a)) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("posture-gated rule: only passing nodes appear in SrcIPs", "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"], "proto": "tcp",
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:5432"] },
  ],)"));
  auto snap = c.engine->snapshot();
  auto s2 = snap->find_device("S2");
  REQUIRE(s2.has_value());
  auto rules = snap->filter_for(*s2);
  REQUIRE(rules.size() == 1);
  const auto& r = rules[0];
  CHECK(r.src_ips == std::vector<std::string>{"100.64.0.1", "100.64.0.5", "fd7a:115c:a1e0::1",
                                              "fd7a:115c:a1e0::5"});
  REQUIRE(r.dst_ports.size() == 2);
  CHECK(r.dst_ports[0].ip == "100.64.0.11");
  CHECK(r.dst_ports[0].ports.first == 5432);
  CHECK(r.dst_ports[0].ports.last == 5432);
  CHECK(r.ip_proto == std::vector<int>{6});
  // A node that is no destination gets nothing.
  CHECK(snap->filter_for(*snap->find_device("S1")).empty());
  // Posture changes show up in the next filter.
  std::vector<engine::AttrChange> ch{engine::AttrChange::set("kandji:agentInstalled", true)};
  c.engine->apply(*snap->find_device("D4"), ch, test::kFixtureNow);
  auto after = c.engine->snapshot()->filter_for(*s2);
  REQUIRE(after.size() == 1);
  CHECK(has(after[0].src_ips, "100.64.0.4"));
}

TEST_CASE("wildcards, subnet routes and autogroup:self", "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("acls": [
    { "action": "accept", "src": ["*"], "dst": ["*:22"] },
    { "action": "accept", "src": ["group:eng"], "dst": ["corp-lan:80"] },
    { "action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"] },
  ],)"));
  auto snap = c.engine->snapshot();
  auto r1 = snap->filter_for(*snap->find_device("R1"));
  REQUIRE(r1.size() == 2);
  CHECK(r1[0].dst_ports[0].ip == "*");
  CHECK(has(r1[0].src_ips, "100.64.0.0-100.115.91.255"));
  CHECK(has(r1[0].src_ips, "10.20.0.0/16"));
  CHECK(r1[1].dst_ports[0].ip == "10.20.0.0/16");
  CHECK(has(r1[1].src_ips, "100.64.0.3"));
  auto d1 = snap->filter_for(*snap->find_device("D1"));
  REQUIRE(d1.size() == 2);
  CHECK(d1[1].src_ips == std::vector<std::string>{"100.64.0.1", "100.64.0.2", "fd7a:115c:a1e0::1",
                                                  "fd7a:115c:a1e0::2"});
}

// Regression: a posture-gated rule naming a node by IP or CIDR used to put the literal prefix in
// SrcIPs, so a node failing the posture was admitted by the filter while check() denied it.
TEST_CASE("posture-gated literal sources: failing nodes are carved out of the prefix",
          "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
  },
  "acls": [
    { "action": "accept", "src": ["100.64.0.4", "100.64.0.0/29", "corp-lan"], "proto": "tcp",
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:5432"] },
  ],)"));
  auto snap = c.engine->snapshot();
  const auto s2 = *snap->find_device("S2");
  auto rules = snap->filter_for(s2);
  REQUIRE(rules.size() == 1);
  const auto& src = rules[0].src_ips;
  CHECK_FALSE(admits(src, "100.64.0.4"));
  CHECK(admits(src, "100.64.0.1"));  // D1 passes
  CHECK(admits(src, "100.64.0.6"));  // not a node: not posture-checked
  CHECK(has(src, "10.20.0.0/16"));   // subnet sources are not posture-checked (E12)
  engine::Request probe;
  probe.src = *grammar::ip::parse_address("100.64.0.4");
  probe.dst = *grammar::ip::parse_address("100.64.0.11");
  probe.proto = 6;
  probe.port = 5432;
  CHECK_FALSE(snap->check(probe).allow);

  std::vector<engine::AttrChange> ch{engine::AttrChange::set("kandji:agentInstalled", true)};
  c.engine->apply(*snap->find_device("D4"), ch, test::kFixtureNow);
  auto after = c.engine->snapshot();
  CHECK(after->check(probe).allow);
  CHECK(admits(after->filter_for(s2)[0].src_ips, "100.64.0.4"));
}

// Regression: an IPv6 host address with an odd last bit printed as a /127 (covering a neighbour
// too), and an unaligned IPv6 range ending at the top of the space printed as a /0.
TEST_CASE("IPv6 sources print as exact addresses and ranges", "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("ipsets": {"ipset:v6": ["add fd00::11-fd00::ff"]},
  "acls": [
    { "action": "accept", "src": ["fd7a:115c:a1e0::3", "ipset:v6"], "dst": ["tag:prod:5432"] },
  ],)"));
  auto snap = c.engine->snapshot();
  auto rules = snap->filter_for(*snap->find_device("S2"));
  REQUIRE(rules.size() == 1);
  CHECK(rules[0].src_ips == std::vector<std::string>{"fd00::11-fd00::ff", "fd7a:115c:a1e0::3"});
}

// Regression: autogroup:danger-all with a posture compiled to SrcIPs "*", admitting the tailnet
// nodes that fail the posture; they are now carved out of the address space.
TEST_CASE("posture-gated autogroup:danger-all leaves failing nodes out", "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:danger-all"], "proto": "tcp",
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:5432"] },
  ],)"));
  auto snap = c.engine->snapshot();
  auto rules = snap->filter_for(*snap->find_device("S2"));
  REQUIRE(rules.size() == 1);
  const auto& src = rules[0].src_ips;
  INFO(::Catch::Detail::stringify(src));
  CHECK_FALSE(has(src, "*"));
  CHECK(admits(src, "8.8.8.8"));  // the internet is not posture-checked
  CHECK(admits(src, "2001:db8::1"));
  CHECK(admits(src, "100.64.0.1"));        // D1 passes
  CHECK_FALSE(admits(src, "100.64.0.4"));  // D4 fails
  CHECK_FALSE(admits(src, "fd7a:115c:a1e0::4"));
}

// Regression: a `via` grant whose destination names a device's own address (here R1's) put that
// address in the filter of R1 when R1 is an exit node of the `via` tag, although check() never lets
// a `via` grant reach a device address.
TEST_CASE("via grants: a device's own address is not a routed destination", "[engine][filter]") {
  auto inventory = test::fixture_inventory();
  auto& router = inventory.devices[*engine::find_devices(inventory, "R1").begin()];
  router.enabled_routes.push_back(*grammar::ip::parse_prefix("0.0.0.0/0"));
  auto c = test::compile_with(test::prelude(R"("grants": [
    { "src": ["group:eng"], "dst": ["100.64.0.12", "autogroup:internet"], "ip": ["tcp:443"],
      "via": ["tag:router"] },
  ],)"),
                              inventory);
  auto snap = c.engine->snapshot();
  const auto r1 = *snap->find_device("R1");
  auto rules = snap->filter_for(r1);
  REQUIRE(rules.size() == 1);
  bool internet = false;
  for (const auto& d : rules[0].dst_ports) {
    CHECK(d.ip != "100.64.0.12");
    internet = internet || d.ip == "0.0.0.0-9.255.255.255" || d.ip == "0.0.0.0/5";
  }
  CHECK(internet);
  engine::Request probe;
  probe.src = *grammar::ip::parse_address("100.64.0.3");
  probe.dst = *grammar::ip::parse_address("100.64.0.12");
  probe.port = 443;
  CHECK_FALSE(snap->check(probe).allow);
  probe.dst = *grammar::ip::parse_address("8.8.8.8");
  CHECK(snap->check(probe).allow);
}

// Regression: a `via` grant to `*` put nothing in the router's filter (only non-`*` destinations
// were routed), while check() accepted hosts behind the router.
TEST_CASE("via grants to `*` reach the hosts behind the via router", "[engine][filter]") {
  auto c = test::compile_fixture(test::prelude(R"("grants": [
    { "src": ["group:eng"], "dst": ["*"], "ip": ["tcp:443"], "via": ["tag:router"] },
  ],)"));
  auto snap = c.engine->snapshot();
  auto rules = snap->filter_for(*snap->find_device("R1"));
  REQUIRE(rules.size() == 1);
  REQUIRE(rules[0].dst_ports.size() == 1);
  CHECK(rules[0].dst_ports[0].ip == "10.20.0.0/16");
  CHECK(admits(rules[0].src_ips, "100.64.0.3"));
  engine::Request probe;
  probe.src = *grammar::ip::parse_address("100.64.0.3");
  probe.dst = *grammar::ip::parse_address("10.20.1.5");
  probe.port = 443;
  CHECK(snap->check(probe).allow);
}

}  // namespace engine_filter_test
