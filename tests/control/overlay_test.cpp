#include "postern/control/overlay.hpp"

#include <catch2/catch.hpp>

namespace overlay_test {


using namespace postern;
using namespace postern::sync;
using postern::control::apply_overlay;

TEST_CASE("stored attributes win over the inventory's, node:* never, rows by device key", "[control][overlay]") {
  engine::Inventory inventory;
  engine::Device carol;
  carol.id = "1005";
  carol.node_id = "nCar0lMBP05";
  carol.attributes = {{"kandji:agentInstalled", true},
                      {"node:os", std::string("macOS")},
                      {"custom:tier", std::string("silver")}};
  carol.expiries = {{"custom:tier", 100}};
  engine::Device legacy;
  legacy.id = "77";
  inventory.devices = {carol, legacy};

  AttributeTable overlay;
  overlay["nCar0lMBP05"]["kandji:agentInstalled"] = StoredAttribute{false, "kandji", 1, {}};
  overlay["nCar0lMBP05"]["custom:tier"] = StoredAttribute{std::string("gold"), "api", 1, {}};
  overlay["nCar0lMBP05"]["node:os"] = StoredAttribute{std::string("linux"), "api", 1, {}};
  overlay["77"]["kandji:mdmEnabled"] = StoredAttribute{true, "kandji", 1, 2'000'000'000};
  // Carol has a nodeId, so a row under her numeric id is not hers: one rule maps rows to devices.
  overlay["1005"]["custom:other"] = StoredAttribute{std::string("x"), "api", 1, {}};
  overlay["ghost"]["kandji:mdmEnabled"] = StoredAttribute{true, "kandji", 1, {}};

  CHECK(apply_overlay(inventory, overlay) == 3);
  const auto& c = inventory.devices[0];
  CHECK(std::get<bool>(c.attributes.at("kandji:agentInstalled")) == false);
  CHECK(std::get<std::string>(c.attributes.at("custom:tier")) == "gold");
  CHECK(c.expiries.count("custom:tier") == 0);
  CHECK(c.attributes.count("custom:other") == 0);
  CHECK(std::get<std::string>(c.attributes.at("node:os")) == "macOS");
  const auto& l = inventory.devices[1];
  CHECK(std::get<bool>(l.attributes.at("kandji:mdmEnabled")));
  CHECK(l.expiries.at("kandji:mdmEnabled") == 2'000'000'000);
}

}  // namespace overlay_test
