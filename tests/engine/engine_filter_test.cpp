// Snapshot::filter_for (spec §7.6): per-node FilterRules with posture-failing sources left out.
#include <algorithm>
#include <catch2/catch.hpp>

#include "engine_fixture.hpp"

using namespace postern;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
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
