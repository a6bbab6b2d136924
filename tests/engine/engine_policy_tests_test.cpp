// The policy `tests` runner (spec §6): srcPostureAttrs, omitted proto, ICMP, error shapes,
// synthetic devices without an inventory, every source device must pass.
#include <catch2/catch.hpp>

#include "engine_fixture.hpp"

namespace engine_policy_tests_test {

using namespace postern;

namespace {

const std::string kE3Body = R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"],
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:*"] },
  ],)";

engine::TestRunResult run(const std::string& extra, const engine::Inventory* inv) {
  auto loaded = engine::load_policy("policy.hujson", test::prelude(extra));
  INFO(grammar::render_all(loaded.file, loaded.diags));
  REQUIRE(loaded.ok());
  return engine::run_policy_tests(loaded.file, *loaded.ast, inv,
                                  engine::CompileOptions{test::kFixtureNow});
}

}  // namespace

TEST_CASE("E16 tests with srcPostureAttrs pass", "[engine][tests]") {
  const std::string tests = R"(
  "tests": [
    { "src": "bob@example.com", "srcPostureAttrs": { "kandji:agentInstalled": true },
      "accept": ["tag:prod:5432"] },
    { "src": "bob@example.com", "srcPostureAttrs": { "kandji:agentInstalled": false },
      "deny": ["tag:prod:5432"] },
    { "src": "bob@example.com", "deny": ["tag:prod:5432"] },
  ],)";
  auto inv = test::fixture_inventory();
  const std::vector<const engine::Inventory*> inventories{nullptr, &inv};
  for (const engine::Inventory* i : inventories) {
    auto r = run(kE3Body + tests, i);
    CHECK(r.passed);
    CHECK(r.tests_run == 3);
    CHECK(r.failures.empty());
  }
}

TEST_CASE("E16 an attribute-less accept test fails in Tailscale's shape", "[engine][tests]") {
  auto r = run(kE3Body + R"(
  "tests": [ { "src": "carol@example.com", "accept": ["tag:prod:5432"] } ],)",
               nullptr);
  CHECK_FALSE(r.passed);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].user == "carol@example.com");
  REQUIRE(r.failures[0].errors.size() == 1);
  CHECK(r.failures[0].errors[0] == "address \"tag:prod:5432\": want: Accept, got: Drop");
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(grammar::code_name(r.diagnostics[0].code) == "T401");
  // The help names the rule that would have accepted it and the failing condition.
  CHECK(r.diagnostics[0].help.find("acls[0]") != std::string::npos);
  CHECK(r.diagnostics[0].help.find("kandji:agentInstalled == true") != std::string::npos);
  CHECK(r.diagnostics[0].help.find("unset") != std::string::npos);
}

TEST_CASE("E17 defaultSrcPosture breaks attribute-less tests", "[engine][tests]") {
  auto r = run(R"("postures": { "posture:stable": ["node:tsReleaseTrack == 'stable'"] },
  "defaultSrcPosture": ["posture:stable"],
  "acls": [ { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"] } ],
  "tests": [
    { "src": "bob@example.com", "accept": ["tag:web:443"] },
    { "src": "bob@example.com", "srcPostureAttrs": {"node:tsReleaseTrack": "stable"},
      "accept": ["tag:web:443"] },
  ],)",
               nullptr);
  CHECK_FALSE(r.passed);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].errors.size() == 1);
}

TEST_CASE("omitted proto: accept needs TCP or UDP, deny needs both denied", "[engine][tests]") {
  const std::string acls = R"("acls": [
    { "action": "accept", "src": ["group:eng"], "proto": "udp", "dst": ["tag:web:53"] },
  ],)";
  auto ok = run(acls + R"("tests": [ { "src": "bob@example.com", "accept": ["tag:web:53"] } ],)",
                nullptr);
  CHECK(ok.passed);
  auto deny =
      run(acls + R"("tests": [ { "src": "bob@example.com", "deny": ["tag:web:53"] } ],)", nullptr);
  CHECK_FALSE(deny.passed);
  REQUIRE(deny.failures.size() == 1);
  CHECK(deny.failures[0].errors[0] == "address \"tag:web:53\": want: Drop, got: Accept");
  auto tcp = run(acls + R"("tests": [ { "src": "bob@example.com", "proto": "tcp",
                               "deny": ["tag:web:53"] } ],)",
                 nullptr);
  CHECK(tcp.passed);
  auto tcp_accept = run(acls + R"("tests": [ { "src": "bob@example.com", "proto": "tcp",
                               "accept": ["tag:web:53"] } ],)",
                        nullptr);
  REQUIRE(tcp_accept.failures.size() == 1);
  CHECK(tcp_accept.failures[0].errors[0] ==
        "address \"tag:web:53\" (protocol \"tcp\"): want: Accept, got: Drop");
}

TEST_CASE("ICMP tests use port 0 and the any-rule-for-the-pair rule", "[engine][tests]") {
  auto r = run(R"("acls": [ { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"] } ],
  "tests": [
    { "src": "bob@example.com", "proto": "icmp", "accept": ["tag:web:0"] },
    { "src": "alice@example.com", "proto": "icmp", "deny": ["tag:web:0"] },
  ],)",
               nullptr);
  CHECK(r.passed);
  auto bad =
      run(R"("acls": [ { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"] } ],
  "tests": [ { "src": "bob@example.com", "accept": ["tag:web:0"] } ],)",
          nullptr);
  CHECK_FALSE(bad.passed);
}

TEST_CASE("every source device must pass (user with several devices)", "[engine][tests]") {
  auto inv = test::fixture_inventory();
  const std::string body = R"("postures": { "posture:mac": ["node:os == 'macos'"] },
  "acls": [ { "action": "accept", "src": ["alice@example.com"], "srcPosture": ["posture:mac"],
              "dst": ["tag:web:443"] } ],)";
  // With srcPostureAttrs every device of alice gets the same attributes: passes.
  auto ok = run(body + R"("tests": [ { "src": "alice@example.com",
      "srcPostureAttrs": {"node:os": "macos"}, "accept": ["tag:web:443"] } ],)",
                &inv);
  CHECK(ok.passed);
  auto no = run(body + R"("tests": [ { "src": "alice@example.com",
      "srcPostureAttrs": {"node:os": "ios"}, "accept": ["tag:web:443"] } ],)",
                &inv);
  CHECK_FALSE(no.passed);
}

TEST_CASE("destinations: IPs, IPv6 in brackets, host aliases, bad ones are errors",
          "[engine][tests]") {
  auto inv = test::fixture_inventory();
  auto r = run(R"("acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432", "corp-lan:80"] } ],
  "tests": [
    { "src": "bob@example.com", "accept": ["100.64.0.11:5432", "[fd7a:115c:a1e0::b]:5432",
                                           "10.20.1.5:80"],
      "deny": ["100.64.0.11:22"] },
  ],)",
               &inv);
  CHECK(r.passed);
  auto bad =
      run(R"("acls": [ { "action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432"] } ],
  "tests": [ { "src": "bob@example.com", "accept": ["corp-lan:5432"] } ],)",
          &inv);
  CHECK_FALSE(bad.passed);
  REQUIRE(bad.failures.size() == 1);
  CHECK(bad.failures[0].errors[0].find("CIDR") != std::string::npos);
}

TEST_CASE("without an inventory, tags and groups get synthetic devices", "[engine][tests]") {
  auto r = run(R"("acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"] },
    { "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] } ],
  "tests": [
    { "src": "group:eng", "accept": ["tag:web:443"], "deny": ["tag:db:5432"] },
    { "src": "tag:web", "accept": ["tag:db:5432"], "deny": ["tag:web:443"] },
    { "src": "carol@example.com", "accept": ["tag:web:443"] },
  ],)",
               nullptr);
  INFO((r.failures.empty() ? "" : r.failures[0].errors[0]));
  CHECK(r.passed);
}

}  // namespace engine_policy_tests_test
