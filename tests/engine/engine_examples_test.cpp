// Every answer of the spec's worked examples E1-E19 (policy-language.md §10) against the compiled
// engine over the §10.1 fixture.
#include <catch2/catch.hpp>

#include "engine_fixture.hpp"

using namespace postern;
using test::allows;
using test::compile_fixture;
using test::prelude;

TEST_CASE("E1 plain deny-by-default", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:80,443"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D3", "S1", "tcp", 443));
  CHECK(allows(e, "D3", "S1", "udp", 443));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 22));
  CHECK_FALSE(allows(e, "D1", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "S1", "D3", "tcp", 443));
  CHECK(allows(e, "D5", "S1", "tcp", 80));
  CHECK(allows(e, "D3", "S1", "icmp", 0));
  CHECK(allows(e, "D3", "S1", "icmp", 0, true));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 443));
  // Both address families.
  CHECK(allows(e, "D3", "S1", "tcp", 443, true));
  // The deciding rule and its line.
  auto d = test::ask(e, "D3", "S1", "tcp", 443);
  REQUIRE(d.rule.has_value());
  CHECK(d.rule->kind == engine::RuleKind::Acl);
  CHECK(d.rule->index == 0);
  CHECK(d.rule->line == 16);
}

TEST_CASE("E2 absent vs empty rule sections", "[engine][examples]") {
  auto a = compile_fixture(prelude(""));
  CHECK(allows(*a.engine, "D3", "S2", "tcp", 5432));
  CHECK(allows(*a.engine, "X1", "S1", "tcp", 22));
  CHECK(test::ask(*a.engine, "D3", "S2", "tcp", 5432).reason == engine::Reason::AllowAll);
  auto b = compile_fixture(prelude(R"("acls": [],)"));
  CHECK_FALSE(allows(*b.engine, "D3", "S2", "tcp", 5432));
  CHECK_FALSE(allows(*b.engine, "X1", "S1", "tcp", 22));
  auto g = compile_fixture(prelude(R"("grants": [],)"));
  CHECK_FALSE(allows(*g.engine, "D3", "S2", "tcp", 5432));
  CHECK_FALSE(allows(*g.engine, "X1", "S1", "tcp", 22));
}

TEST_CASE("E3 Kandji posture", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"],
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:*"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "S2", "tcp", 5432));
  CHECK(allows(e, "D5", "S2", "tcp", 22));
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D2", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "S1", "S2", "tcp", 5432));
  // The explanation names the failing condition and the actual value.
  auto d = test::ask(e, "D4", "S2", "tcp", 5432);
  CHECK(d.reason == engine::Reason::PostureFailed);
  REQUIRE(d.near_misses.size() == 1);
  REQUIRE(d.near_misses[0].postures.size() == 1);
  CHECK(d.near_misses[0].postures[0].posture == "posture:trusted");
  REQUIRE(d.near_misses[0].postures[0].conditions.size() == 1);
  const auto& f = d.near_misses[0].postures[0].conditions[0];
  CHECK(f.attribute == "kandji:agentInstalled");
  REQUIRE(f.actual.has_value());
  CHECK(std::get<bool>(*f.actual) == false);
  auto unset = test::ask(e, "D3", "S2", "tcp", 5432);
  REQUIRE(unset.near_misses.size() == 1);
  CHECK_FALSE(unset.near_misses[0].postures[0].conditions[0].actual.has_value());
  // Tagged S1 is not autogroup:member: no near miss at all.
  CHECK(test::ask(e, "S1", "S2", "tcp", 5432).reason == engine::Reason::NoRule);
}

TEST_CASE("E4 AND of conditions and version comparison", "[engine][examples]") {
  const std::string rule = R"(
  "acls": [
    { "action": "accept", "src": ["autogroup:member"],
      "srcPosture": ["posture:latestMac"], "dst": ["tag:web:443"] },
  ],)";
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:latestMac": ["node:os == 'macos'", "node:tsReleaseTrack == 'stable'",
                          "node:tsVersion >= '1.40'"],
  },)" + rule));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "S1", "tcp", 443));
  CHECK(allows(e, "D5", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D2", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D4", "S1", "tcp", 443));
  auto b = compile_fixture(prelude(R"("postures": {
    "posture:latestMac": ["node:os == 'macos'", "node:tsReleaseTrack == 'stable'",
                          "node:tsVersion >= '1.40.0'"],
  },)" + rule));
  CHECK_FALSE(allows(*b.engine, "D5", "S1", "tcp", 443));
  CHECK(allows(*b.engine, "D1", "S1", "tcp", 443));
}

TEST_CASE("E5 OR across a srcPosture list (grant)", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:mac":        ["node:os == 'macos'"],
    "posture:managedWin": ["node:os == 'windows'", "intune:complianceState == 'compliant'"],
  },
  "grants": [
    { "src": ["autogroup:member"], "dst": ["tag:db"], "ip": ["tcp:5432"],
      "srcPosture": ["posture:mac", "posture:managedWin"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "S2", "tcp", 5432));
  CHECK(allows(e, "D5", "S2", "tcp", 5432));
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D2", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D1", "S2", "udp", 5432));
  auto d = test::ask(e, "D1", "S2", "tcp", 5432);
  REQUIRE(d.rule.has_value());
  CHECK(d.rule->kind == engine::RuleKind::Grant);
  // A deny lists both postures of the OR with their failing conditions.
  auto deny = test::ask(e, "D3", "S2", "tcp", 5432);
  REQUIRE(deny.near_misses.size() == 1);
  CHECK(deny.near_misses[0].postures.size() == 2);
}

TEST_CASE("E6 defaultSrcPosture is replaced, not added", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:stable": ["node:tsReleaseTrack == 'stable'"],
    "posture:linux":  ["node:os == 'linux'"],
  },
  "defaultSrcPosture": ["posture:stable"],
  "acls": [
    { "action": "accept", "src": ["autogroup:member"], "dst": ["tag:web:443"] },
    { "action": "accept", "src": ["autogroup:member"],
      "srcPosture": ["posture:linux"], "dst": ["tag:db:5432"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 443));
  CHECK(allows(e, "D3", "S2", "tcp", 5432));
  CHECK(allows(e, "D1", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D1", "S2", "tcp", 5432));
  CHECK(allows(e, "D4", "S1", "tcp", 443));
  auto d = test::ask(e, "D3", "S1", "tcp", 443);
  REQUIRE(d.near_misses.size() == 1);
  CHECK(d.near_misses[0].from_default);
}

TEST_CASE("E7 missing attributes and negative operators", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:notGold": ["custom:tier != 'gold'"],
    "posture:noTier":  ["custom:tier NOT SET"],
    "posture:hasTier": ["custom:tier IS SET"],
  },
  "acls": [
    { "action": "accept", "src": ["group:eng"], "srcPosture": ["posture:notGold"], "dst": ["tag:web:8080"] },
    { "action": "accept", "src": ["group:eng"], "srcPosture": ["posture:noTier"],  "dst": ["tag:web:8081"] },
    { "action": "accept", "src": ["group:eng"], "srcPosture": ["posture:hasTier"], "dst": ["tag:web:8082"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 8080));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 8081));
  CHECK(allows(e, "D3", "S1", "tcp", 8082));
  for (const char* d : {"D4", "D5"}) {
    CHECK_FALSE(allows(e, d, "S1", "tcp", 8080));
    CHECK(allows(e, d, "S1", "tcp", 8081));
    CHECK_FALSE(allows(e, d, "S1", "tcp", 8082));
  }
}

TEST_CASE("E8 IN / NOT IN", "[engine][examples]") {
  for (const char* kw : {"IN", "in"}) {
    auto c = compile_fixture(prelude(std::string(R"("postures": {
      "posture:northAmerica":  ["ip:country )") +
                                     kw + R"( ['US', 'CA']"],
      "posture:notSanctioned": ["ip:country NOT IN ['KP', 'IR']"],
    },
    "acls": [
      { "action": "accept", "src": ["autogroup:member"], "srcPosture": ["posture:northAmerica"],  "dst": ["tag:web:443"] },
      { "action": "accept", "src": ["autogroup:member"], "srcPosture": ["posture:notSanctioned"], "dst": ["tag:web:80"] },
    ],)"));
    const auto& e = *c.engine;
    CHECK(allows(e, "D1", "S1", "tcp", 443));
    CHECK(allows(e, "D1", "S1", "tcp", 80));
    CHECK(allows(e, "D2", "S1", "tcp", 443));
    CHECK(allows(e, "D2", "S1", "tcp", 80));
    CHECK_FALSE(allows(e, "D4", "S1", "tcp", 443));
    CHECK(allows(e, "D4", "S1", "tcp", 80));
    for (const char* d : {"D3", "D5"}) {
      CHECK_FALSE(allows(e, d, "S1", "tcp", 443));
      CHECK_FALSE(allows(e, d, "S1", "tcp", 80));
    }
  }
}

TEST_CASE("E9 numeric comparisons", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:highTrust": ["falcon:ztaScore >= 70"],
    "posture:scored":    ["custom:score > 80"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"], "srcPosture": ["posture:highTrust"], "dst": ["tag:prod:22"] },
    { "action": "accept", "src": ["group:eng"],        "srcPosture": ["posture:scored"],    "dst": ["tag:web:9000"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D4", "S2", "tcp", 22));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 22));
  CHECK_FALSE(allows(e, "D1", "S2", "tcp", 22));
  CHECK(allows(e, "D3", "S1", "tcp", 9000));
  CHECK_FALSE(allows(e, "D4", "S1", "tcp", 9000));
}

TEST_CASE("E10 autogroup:self with and without posture", "[engine][examples]") {
  auto c = compile_fixture(
      prelude(R"("postures": { "posture:autoUpdate": ["node:tsAutoUpdate == true"] },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:22"] },
    { "action": "accept", "src": ["autogroup:member"], "srcPosture": ["posture:autoUpdate"],
      "dst": ["autogroup:self:3389"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "D2", "tcp", 22));
  CHECK(allows(e, "D2", "D1", "tcp", 22));
  CHECK(allows(e, "D3", "D4", "tcp", 22));
  CHECK_FALSE(allows(e, "D1", "D3", "tcp", 22));
  CHECK_FALSE(allows(e, "S1", "D3", "tcp", 22));
  CHECK(allows(e, "D1", "D2", "tcp", 3389));
  CHECK_FALSE(allows(e, "D2", "D1", "tcp", 3389));
  CHECK_FALSE(allows(e, "D1", "D3", "tcp", 3389));
}

TEST_CASE("E11 tagged devices lose user identity", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("acls": [
    { "action": "accept", "src": ["bob@example.com"], "dst": ["tag:db:5432"] },
    { "action": "accept", "src": ["tag:web"],         "dst": ["tag:db:6379"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D3", "S2", "tcp", 5432));
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "S1", "S2", "tcp", 5432));
  CHECK(allows(e, "S1", "S2", "tcp", 6379));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 6379));
}

TEST_CASE("E12 subnet sources bypass posture", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": { "posture:mac": ["node:os == 'macos'"] },
  "acls": [
    { "action": "accept", "src": ["corp-lan", "autogroup:member"],
      "srcPosture": ["posture:mac"], "dst": ["tag:db:5432"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "N1", "S2", "tcp", 5432));
  CHECK(allows(e, "D1", "S2", "tcp", 5432));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 5432));
  CHECK(allows(e, "D5", "S2", "tcp", 5432));
}

TEST_CASE("E13 shared-in devices bypass posture, * includes routes", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": { "posture:mac": ["node:os == 'macos'"] },
  "acls": [
    { "action": "accept", "src": ["*"], "srcPosture": ["posture:mac"], "dst": ["tag:web:443"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "X1", "S1", "tcp", 443));
  CHECK(allows(e, "N1", "S1", "tcp", 443));
  CHECK(allows(e, "D1", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "S2", "S1", "tcp", 443));
  // `*` does not include arbitrary internet hosts.
  CHECK_FALSE(allows(e, "8.8.8.8", "S1", "tcp", 443));
}

TEST_CASE("E14 protocols", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("acls": [
    { "action": "accept", "src": ["group:eng"], "proto": "udp", "dst": ["tag:web:53"] },
    { "action": "accept", "src": ["group:eng"], "proto": "6",   "dst": ["tag:web:22"] },
    { "action": "accept", "src": ["group:eng"], "proto": "gre", "dst": ["tag:router:*"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D3", "S1", "udp", 53));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 53));
  CHECK(allows(e, "D3", "S1", "tcp", 22));
  CHECK_FALSE(allows(e, "D3", "S1", "udp", 22));
  CHECK_FALSE(allows(e, "D3", "S1", "sctp", 53));
  CHECK(allows(e, "D3", "S1", "icmp", 0));
  CHECK(allows(e, "D3", "R1", "gre", 0));
  CHECK_FALSE(allows(e, "D3", "R1", "esp", 0));
}

TEST_CASE("E15 port syntax", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:22,80,8000-8100"] },
    { "action": "accept", "src": ["group:admins"], "dst": ["*:22"] },
    { "action": "accept", "src": ["group:admins"], "dst": ["[fd7a:115c:a1e0::b]:5432"] },
  ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D3", "S1", "tcp", 8050));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 8101));
  CHECK(allows(e, "D3", "S1", "tcp", 80));
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 81));
  CHECK(allows(e, "D1", "S2", "tcp", 22));
  CHECK(allows(e, "D1", "R1", "tcp", 22));
  CHECK_FALSE(allows(e, "D1", "S2", "tcp", 23));
  CHECK(allows(e, "D1", "S2", "tcp", 5432, true));
  CHECK_FALSE(allows(e, "D1", "S2", "tcp", 5432, false));
}

TEST_CASE("E18 bare boolean attribute means == true", "[engine][examples]") {
  auto c = compile_fixture(prelude(
      R"("postures": { "posture:autoUpdateMac": ["node:os == 'macos'", "node:tsAutoUpdate"] },
  "acls": [ { "action": "accept", "src": ["autogroup:member"],
              "srcPosture": ["posture:autoUpdateMac"], "dst": ["tag:web:443"] } ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D5", "S1", "tcp", 443));
  CHECK_FALSE(allows(e, "D2", "S1", "tcp", 443));
}

TEST_CASE("E19 OS version thresholds", "[engine][examples]") {
  auto c = compile_fixture(prelude(R"("postures": {
    "posture:modernMac": ["node:os == 'macos'", "node:osVersion >= '14'"],
    "posture:win11":     ["node:os == 'windows'", "node:osVersion >= '10.0.22000'"],
  },
  "acls": [ { "action": "accept", "src": ["autogroup:member"],
              "srcPosture": ["posture:modernMac", "posture:win11"], "dst": ["tag:prod:443"] } ],)"));
  const auto& e = *c.engine;
  CHECK(allows(e, "D1", "S2", "tcp", 443));
  CHECK_FALSE(allows(e, "D5", "S2", "tcp", 443));
  CHECK(allows(e, "D4", "S2", "tcp", 443));
  CHECK_FALSE(allows(e, "D3", "S2", "tcp", 443));
}
