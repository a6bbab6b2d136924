// control::device_postures and posture_table: the console's per-device posture view agrees with
// the attributes it is computed from, explains failures, and follows attribute changes.
#include "postern/control/device_postures.hpp"

#include <catch2/catch.hpp>

#include "postern/engine/policy_load.hpp"

namespace device_postures_test {

using namespace postern;

namespace {

constexpr const char* kPolicy = R"({
  "postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
    "posture:modern":  ["node:os == 'macos'", "node:osVersion >= '14'"],
  },
  "acls": [{"action": "accept", "src": ["*"], "srcPosture": ["posture:trusted"], "dst": ["*:*"]}],
})";

engine::Device device(std::string id, std::string node_id, std::string address,
                      engine::AttrMap attrs) {
  engine::Device d;
  d.id = std::move(id);
  d.node_id = std::move(node_id);
  d.hostname = d.id == "1" ? "alpha" : "beta";
  d.user = "alice@example.com";
  d.addresses = {*grammar::ip::parse_address(address)};
  d.attributes = std::move(attrs);
  return d;
}

std::unique_ptr<engine::Engine> compile(const engine::Inventory& inventory) {
  auto loaded = engine::load_policy("policy.hujson", kPolicy, engine::validate_context(inventory));
  REQUIRE(loaded.ok());
  return engine::Engine::compile(loaded.file, *loaded.ast, inventory, {});
}

engine::Inventory inventory() {
  engine::Inventory inv;
  inv.users = {engine::User{"alice@example.com"}};
  inv.devices = {
      device("1", "nAlpha1", "100.64.0.1",
             {{"node:os", std::string("macos")}, {"node:osVersion", std::string("14.5")}}),
      device("2", "nBeta2", "100.64.0.2",
             {{"kandji:agentInstalled", true}, {"node:os", std::string("linux")}})};
  return inv;
}

}  // namespace

TEST_CASE("device_postures: pass, fail and the failing condition with the device's value",
          "[control][postures]") {
  const auto inv = inventory();
  const auto engine = compile(inv);
  const auto snap = engine->snapshot();

  const auto alpha = control::device_postures(*snap, "alpha");
  REQUIRE(alpha.ok());
  CHECK(alpha.value().device_key == "nAlpha1");
  const auto& results = alpha.value().postures;
  REQUIRE(results.size() == 2);
  CHECK(results[0].posture == "posture:modern");
  CHECK(results[0].pass);
  CHECK(results[0].failures.empty());
  CHECK(results[1].posture == "posture:trusted");
  CHECK_FALSE(results[1].pass);
  REQUIRE(results[1].failures.size() == 1);
  CHECK(results[1].failures[0].attribute == "kandji:agentInstalled");
  CHECK_FALSE(results[1].failures[0].actual.has_value());  // unset

  const auto beta = control::device_postures(*snap, "100.64.0.2");
  REQUIRE(beta.ok());
  const auto& b = beta.value().postures;
  CHECK_FALSE(b[0].pass);
  REQUIRE(b[0].failures.size() == 2);  // both conditions of posture:modern fail
  CHECK(b[0].failures[0].attribute == "node:os");
  CHECK(std::get<std::string>(*b[0].failures[0].actual) == "linux");
  CHECK(b[1].pass);
}

TEST_CASE("device_postures: an unknown device is NotFound", "[control][postures]") {
  const auto inv = inventory();
  const auto engine = compile(inv);
  const auto missing = control::device_postures(*engine->snapshot(), "gamma");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == control::ErrorKind::NotFound);
  CHECK(missing.error().message.find("gamma") != std::string::npos);
}

TEST_CASE("posture_table: passing postures per device, and it follows attribute changes",
          "[control][postures]") {
  const auto inv = inventory();
  auto engine = compile(inv);
  auto table = control::posture_table(*engine->snapshot());
  CHECK(table.postures == std::vector<std::string>{"posture:modern", "posture:trusted"});
  REQUIRE(table.devices.size() == 2);
  CHECK(table.devices[0].device_key == "nAlpha1");
  CHECK(table.devices[0].passing == std::vector<std::uint32_t>{0});
  CHECK(table.devices[1].passing == std::vector<std::uint32_t>{1});
  CHECK(table.devices[0].attributes == std::vector<std::string>{"node:os", "node:osVersion"});

  const std::vector<engine::AttrChange> change{
      engine::AttrChange::set("kandji:agentInstalled", true)};
  REQUIRE(engine->apply(0, change, 0).ok);
  table = control::posture_table(*engine->snapshot());
  CHECK(table.devices[0].passing == std::vector<std::uint32_t>{0, 1});
  CHECK(table.devices[0].attributes.front() == "kandji:agentInstalled");
  const auto alpha = control::device_postures(*engine->snapshot(), "nAlpha1");
  REQUIRE(alpha.ok());
  CHECK(alpha.value().postures[1].pass);
}

}  // namespace device_postures_test
