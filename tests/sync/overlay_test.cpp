#include "postern/sync/overlay.hpp"

#include <catch2/catch.hpp>

#include "fake_transport.hpp"

using namespace postern;
using namespace postern::sync;

TEST_CASE("stored attributes win over the inventory's, node:* never", "[sync][overlay]") {
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
  overlay["ghost"]["kandji:mdmEnabled"] = StoredAttribute{true, "kandji", 1, {}};

  CHECK(apply_overlay(inventory, overlay) == 3);
  const auto& c = inventory.devices[0];
  CHECK(std::get<bool>(c.attributes.at("kandji:agentInstalled")) == false);
  CHECK(std::get<std::string>(c.attributes.at("custom:tier")) == "gold");
  CHECK(c.expiries.count("custom:tier") == 0);
  CHECK(std::get<std::string>(c.attributes.at("node:os")) == "macOS");
  const auto& l = inventory.devices[1];
  CHECK(std::get<bool>(l.attributes.at("kandji:mdmEnabled")));
  CHECK(l.expiries.at("kandji:mdmEnabled") == 2'000'000'000);
}

TEST_CASE("load_attribute_overlay reads the store and refuses a missing file", "[sync][overlay]") {
  test::TempDir dir;
  const auto db = dir.path() / "postern.db";
  CHECK_FALSE(load_attribute_overlay(db).ok());
  {
    auto store = std::move(open_sqlite_store(db).value());
    REQUIRE(store
                ->write_attributes(
                    {{"n1", "custom:tier", AttrValue{std::string("gold")}, "api", {}}}, {})
                .ok());
  }
  auto overlay = load_attribute_overlay(db);
  REQUIRE(overlay.ok());
  CHECK(overlay.value().at("n1").count("custom:tier") == 1);
}
