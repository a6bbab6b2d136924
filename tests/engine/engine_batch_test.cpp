// Snapshot::check_batch must give exactly check()'s decisions: random policies over a random
// inventory of a few hundred devices (so the batch pipeline crosses many slots and device
// chunks), random queries between device and non-device addresses, every protocol kind,
// per-query attributes and explanations on and off.
//
// Deterministic for a seed. Environment: POSTERN_BATCH_SEED (default 20261125).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <random>
#include <span>
#include <sstream>

#include "engine_fixture.hpp"
#include "postern/engine/engine.hpp"
#include "seeded_random.hpp"

namespace engine_batch_test {

using namespace postern;
namespace ip = grammar::ip;

namespace {

using Random = test::SeededRandom;

std::uint64_t seed_from_env() { return test::env_number("POSTERN_BATCH_SEED", 20261125U); }

const std::vector<std::string> kLogins = {"ann@example.com", "ben@example.com", "cy@example.com",
                                          "di@example.com"};
const std::vector<std::string> kTags = {"tag:a", "tag:b", "tag:c"};

ip::Address v4(std::uint32_t value) {
  ip::Address a;
  a.bytes[0] = static_cast<std::uint8_t>(value >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(value >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(value >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(value);
  return a;
}

ip::Address v6(std::uint32_t index) {
  ip::Address a;
  a.v6 = true;
  const std::array<std::uint8_t, 6> prefix = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
  std::copy(prefix.begin(), prefix.end(), a.bytes.begin());
  a.bytes[14] = static_cast<std::uint8_t>(index >> 8);
  a.bytes[15] = static_cast<std::uint8_t>(index);
  return a;
}

constexpr std::uint32_t kBase = (100U << 24) | (64U << 16);  // 100.64.0.0

engine::Inventory random_inventory(Random& rng, std::size_t count) {
  engine::Inventory inv;
  for (const auto& login : kLogins) inv.users.push_back({login, "member", false});
  inv.users[0].role = "admin";
  for (std::size_t i = 0; i < count; ++i) {
    engine::Device d;
    d.id = std::to_string(1000 + i);
    d.node_id = "n" + d.id;
    d.hostname = "dev" + std::to_string(i);
    d.name = d.hostname + ".example.ts.net";
    d.addresses = {v4(kBase + 1 + static_cast<std::uint32_t>(i)),
                   v6(static_cast<std::uint32_t>(i + 1))};
    d.user = rng.pick(kLogins);
    if (rng.chance(0.3)) d.tags = {rng.pick(kTags)};
    d.os = rng.chance(0.5) ? "macos" : "linux";
    d.client_version = rng.chance(0.5) ? "1.80.0" : "1.60.2";
    if (rng.chance(0.05)) d.enabled_routes = {*ip::parse_prefix("10.1.0.0/16")};
    d.is_external = rng.chance(0.03);
    if (rng.chance(0.8)) d.attributes["custom:tier"] = rng.chance(0.5) ? "gold" : "silver";
    if (rng.chance(0.6)) d.attributes["custom:score"] = static_cast<double>(rng.below(100));
    inv.devices.push_back(std::move(d));
  }
  return inv;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// autogroup:self as a destination admits only user-like sources.
std::string random_src(Random& rng, bool user_like) {
  static const std::vector<std::string> kUserLike = {"group:eng", "ann@example.com",
                                                     "ben@example.com", "autogroup:member"};
  if (user_like) return quoted(rng.pick(kUserLike));
  static const std::vector<std::string> kSrc = {
      "*",     "group:eng",        "ann@example.com", "ben@example.com", "tag:a", "tag:b",
      "tag:c", "autogroup:member", "autogroup:admin", "100.64.0.0/26",   "net1",  "10.1.0.0/16"};
  return quoted(rng.pick(kSrc));
}

std::string random_acl_dst(Random& rng) {
  static const std::vector<std::string> kHosts = {
      "*",         "tag:a", "tag:b",         "autogroup:self",
      "group:eng", "net1",  "100.64.0.0/25", "cy@example.com"};
  static const std::vector<std::string> kPorts = {"*", "22", "80-90", "443", "1000-2000", "53"};
  return quoted(rng.pick(kHosts) + ":" + rng.pick(kPorts));
}

std::string random_posture(Random& rng) {
  static const std::vector<std::string> kLists = {R"(["posture:gold"])", R"(["posture:mac"])",
                                                  R"(["posture:gold", "posture:high"])",
                                                  R"(["posture:high"])"};
  return rng.pick(kLists);
}

std::string random_policy(Random& rng) {
  std::ostringstream p;
  p << R"({
  "groups": {"group:eng": ["ann@example.com", "ben@example.com"]},
  "tagOwners": {"tag:a": ["group:eng"], "tag:b": ["group:eng"], "tag:c": ["autogroup:admin"]},
  "hosts": {"net1": "10.1.0.0/16"},
  "postures": {
    "posture:gold": ["custom:tier == 'gold'"],
    "posture:mac": ["node:os IN ['macos', 'ios']", "node:tsVersion >= '1.70'"],
    "posture:high": ["custom:score > 50"]
  },
)";
  if (rng.chance(0.3)) p << "  \"defaultSrcPosture\": " << random_posture(rng) << ",\n";
  p << "  \"acls\": [\n";
  const std::size_t acls = 1 + rng.below(40);
  for (std::size_t i = 0; i < acls; ++i) {
    std::string dst = random_acl_dst(rng);
    if (rng.chance(0.3)) dst += ", " + random_acl_dst(rng);
    const bool self = dst.find("autogroup:self") != std::string::npos;
    p << "    {\"action\": \"accept\", \"src\": [" << random_src(rng, self);
    if (rng.chance(0.3)) p << ", " << random_src(rng, self);
    p << "], \"dst\": [" << dst << "]";
    const auto proto = rng.below(6);
    if (proto == 1) p << ", \"proto\": \"tcp\"";
    if (proto == 2) p << ", \"proto\": \"udp\"";
    if (rng.chance(0.4)) p << ", \"srcPosture\": " << random_posture(rng);
    p << "},\n";
  }
  p << "  ],\n  \"grants\": [\n";
  static const std::vector<std::string> kIp = {
      R"("*")",      R"("tcp:22")", R"("udp:53")",       R"("icmp:*")",
      R"("sctp:*")", R"("80-443")", R"("tcp:8000-8100")"};
  static const std::vector<std::string> kGrantDst = {"*",         "tag:a",          "tag:c",
                                                     "group:eng", "autogroup:self", "net1"};
  const std::size_t grants = rng.below(8);
  for (std::size_t i = 0; i < grants; ++i) {
    const std::string dst = rng.pick(kGrantDst);
    p << "    {\"src\": [" << random_src(rng, dst == "autogroup:self") << "], \"dst\": ["
      << quoted(dst) << "], \"ip\": [" << rng.pick(kIp);
    if (rng.chance(0.4)) p << ", " << rng.pick(kIp);
    p << "]";
    if (rng.chance(0.3)) p << ", \"srcPosture\": " << random_posture(rng);
    p << "},\n";
  }
  p << "  ]\n}\n";
  return p.str();
}

ip::Address random_address(Random& rng, const engine::Inventory& inv, bool v6_family) {
  const auto roll = rng.below(20);
  if (roll == 0) return v6_family ? v6(60000) : v4(kBase + 60000);           // unknown tailnet
  if (roll == 1) return v6_family ? v6(1) : *ip::parse_address("10.1.2.3");  // route or device
  if (roll == 2) return v6_family ? v6(2) : *ip::parse_address("8.8.8.8");
  const auto& d = inv.devices[rng.below(inv.devices.size())];
  return d.addresses[v6_family ? 1 : 0];
}

std::vector<engine::Request> random_queries(Random& rng, const engine::Inventory& inv,
                                            const std::vector<engine::AttrMap>& overrides,
                                            std::size_t count) {
  static const std::vector<std::uint8_t> kProtos = {
      engine::kProtoTcp,  engine::kProtoTcp, engine::kProtoUdp, engine::kProtoIcmp,
      engine::kProtoSctp, 47 /* gre */,      engine::kProtoTcp};
  static const std::vector<std::uint16_t> kPorts = {22, 53, 80, 85, 443, 1500, 8050, 0, 65535};
  std::vector<engine::Request> out;
  for (std::size_t i = 0; i < count; ++i) {
    engine::Request q;
    const bool family = rng.chance(0.15);
    q.src = random_address(rng, inv, family);
    q.dst = random_address(rng, inv, rng.chance(0.02) ? !family : family);
    q.proto = rng.pick(kProtos);
    if (q.proto == engine::kProtoIcmp && family) q.proto = engine::kProtoIcmpV6;
    q.port = rng.chance(0.2) ? static_cast<std::uint16_t>(rng.below(65536)) : rng.pick(kPorts);
    if (rng.chance(0.05)) q.src_attrs = &overrides[rng.below(overrides.size())];
    q.explain = rng.chance(0.3);
    out.push_back(q);
  }
  return out;
}

bool same(const engine::Decision& a, const engine::Decision& b) {
  if (a.allow != b.allow || a.reason != b.reason || a.rule.has_value() != b.rule.has_value())
    return false;
  if (a.rule && (a.rule->kind != b.rule->kind || a.rule->index != b.rule->index)) return false;
  if (a.near_misses.size() != b.near_misses.size()) return false;
  for (std::size_t i = 0; i < a.near_misses.size(); ++i) {
    if (a.near_misses[i].rule.index != b.near_misses[i].rule.index ||
        a.near_misses[i].postures.size() != b.near_misses[i].postures.size())
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("check_batch gives check's decisions on random policies and queries", "[batch]") {
  Random rng(seed_from_env());
  const auto inventory = random_inventory(rng, 300);
  const std::vector<engine::AttrMap> overrides = {
      {{"custom:tier", std::string("gold")}, {"custom:score", 90.0}},
      {{"custom:tier", std::string("silver")}},
      {}};
  std::size_t accepted = 0, checked = 0, posture_denies = 0;
  for (int round = 0; round < 25; ++round) {
    const std::string text = random_policy(rng);
    INFO("policy:\n" << text);
    auto compiled = test::compile_with(text, inventory);
    REQUIRE(compiled.engine != nullptr);
    const auto snap = compiled.engine->snapshot();
    // Lengths around the pipeline depth, and a long batch.
    for (std::size_t count :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{17}, std::size_t{2000}}) {
      const auto queries = random_queries(rng, inventory, overrides, count);
      auto allow = std::make_unique<bool[]>(count + 1);
      std::vector<engine::Decision> decisions(count);
      snap->check_batch(queries, std::span<bool>(allow.get(), count));
      snap->check_batch(queries, std::span<engine::Decision>(decisions));
      for (std::size_t i = 0; i < count; ++i) {
        const auto expected = snap->check(queries[i]);
        INFO("query " << i << ": " << ip::to_string(queries[i].src) << " -> "
                      << ip::to_string(queries[i].dst) << " proto " << int{queries[i].proto}
                      << " port " << queries[i].port);
        REQUIRE(allow[i] == expected.allow);
        REQUIRE(same(decisions[i], expected));
        accepted += expected.allow ? 1U : 0U;
        posture_denies += expected.reason == engine::Reason::PostureFailed ? 1U : 0U;
        ++checked;
      }
    }
  }
  // The random policies must exercise both answers and posture denies, or the test proves little.
  CHECK(accepted > checked / 20);
  CHECK(accepted < checked - checked / 20);
  CHECK(posture_denies > 0);
}

TEST_CASE("check_batch writes no more answers than it has room for", "[batch]") {
  auto compiled = test::compile_fixture(
      test::prelude(R"("acls": [{"action": "accept", "src": ["*"], "dst": ["*:22"]}],)"));
  const auto snap = compiled.engine->snapshot();
  engine::Request q;
  q.src = test::addr("D1");
  q.dst = test::addr("D2");
  q.port = 22;
  const std::vector<engine::Request> queries(5, q);
  std::array<bool, 4> allow = {false, false, false, false};
  snap->check_batch(queries, std::span<bool>(allow.data(), 2));
  CHECK(allow[0]);
  CHECK(allow[1]);
  CHECK_FALSE(allow[2]);
  CHECK_FALSE(allow[3]);
  // Through Engine: the current snapshot.
  std::vector<engine::Decision> decisions(5);
  compiled.engine->check_batch(queries, std::span<engine::Decision>(decisions));
  for (const auto& d : decisions) {
    CHECK(d.allow);
    REQUIRE(d.rule.has_value());
    CHECK(d.rule->index == 0);
  }
}

TEST_CASE("check_batch on the default policy accepts everything in the tailnet", "[batch]") {
  auto compiled = test::compile_fixture(test::prelude(""));
  engine::Request q;
  q.src = test::addr("D1");
  q.dst = test::addr("D2");
  q.proto = engine::kProtoUdp;  // `*:*` without "proto" opens TCP, UDP and ICMP
  const std::vector<engine::Request> queries(3, q);
  std::array<bool, 3> allow = {false, false, false};
  compiled.engine->check_batch(queries, std::span<bool>(allow));
  CHECK((allow[0] && allow[1] && allow[2]));
  std::vector<engine::Decision> decisions(3);
  compiled.engine->check_batch(queries, std::span<engine::Decision>(decisions));
  CHECK(decisions[2].reason == engine::Reason::AllowAll);
}

}  // namespace engine_batch_test
