// What the engine tells callers about stored attributes so they need not mirror them:
// Snapshot expiries and attribute states, and Engine::attribute_key_usage (issue 7 item 4).
#include <catch2/catch.hpp>

#include "engine_fixture.hpp"
#include "postern/engine/engine.hpp"

namespace attribute_state_test {

namespace {

using namespace postern;
using engine::AttrChange;
using engine::AttributeKeyUsage;
using test::kFixtureNow;

constexpr std::int64_t kYear = 365 * 86400;

test::Compiled compiled() { return test::compile_fixture(test::prelude("")); }

engine::DeviceIndex device(const engine::Engine& engine, const char* name) {
  const auto index = engine.snapshot()->find_device(name);
  REQUIRE(index.has_value());
  return *index;
}

}  // namespace

TEST_CASE("a snapshot reports each attribute's value and expiry", "[engine][attributes]") {
  const auto c = compiled();
  const auto snap = c.engine->snapshot();
  const auto d5 = device(*c.engine, "D5");
  CHECK(snap->expiries(d5) == engine::Expiries{{"custom:prodAccess", kFixtureNow + kYear}});
  CHECK(snap->attribute(d5, "custom:prodAccess") ==
        engine::AttributeState{true, kFixtureNow + kYear});
  CHECK(snap->attribute(d5, "node:os") == engine::AttributeState{"macos", std::nullopt});
  CHECK_FALSE(snap->attribute(d5, "custom:none").has_value());
  const auto states = snap->attribute_states(d5);
  CHECK(states.size() == snap->attributes(d5).size());
  CHECK(states.at("custom:prodAccess").expiry == kFixtureNow + kYear);
}

TEST_CASE("expiries follow apply() and time", "[engine][attributes]") {
  auto c = compiled();
  const auto d1 = device(*c.engine, "D1");
  const std::vector<AttrChange> set = {
      AttrChange::set("custom:tier", std::string("gold"), kFixtureNow + 10),
      AttrChange::set("custom:score", 5.0)};
  REQUIRE(c.engine->apply(d1, set, kFixtureNow).ok);
  auto snap = c.engine->snapshot();
  CHECK(snap->expiries(d1) == engine::Expiries{{"custom:tier", kFixtureNow + 10}});
  CHECK(snap->attribute(d1, "custom:score") == engine::AttributeState{5.0, std::nullopt});
  CHECK(snap->attributes(d1).at("custom:tier") == engine::AttrValue(std::string("gold")));

  const std::vector<AttrChange> extend = {AttrChange::set_expiry("custom:tier", kFixtureNow + 20)};
  REQUIRE(c.engine->apply(d1, extend, kFixtureNow).ok);
  CHECK(c.engine->snapshot()->expiries(d1).at("custom:tier") == kFixtureNow + 20);

  c.engine->advance_time(kFixtureNow + 20);  // expired: neither value nor expiry is reported
  snap = c.engine->snapshot();
  CHECK(snap->expiries(d1).empty());
  CHECK_FALSE(snap->attribute(d1, "custom:tier").has_value());
  CHECK_FALSE(snap->attribute_states(d1).contains("custom:tier"));
  const auto held = snap->attributes(d1);
  CHECK_FALSE(held.contains("custom:tier"));
  CHECK(held.at("custom:score") == engine::AttrValue(5.0));  // no expiry: kept
  CHECK(held.size() == snap->attribute_states(d1).size());
}

TEST_CASE("attribute key usage counts holders by spelling and type", "[engine][attributes]") {
  auto c = compiled();
  // The fixture: custom:tier (string) and custom:score (number) on D3 only.
  CHECK(c.engine->attribute_key_usage("custom:tier") ==
        std::vector<AttributeKeyUsage>{{"custom:tier", 1, 0, 0}});
  CHECK(c.engine->attribute_key_usage("CUSTOM:Tier") ==
        std::vector<AttributeKeyUsage>{{"custom:tier", 1, 0, 0}});
  CHECK(c.engine->attribute_key_usage("custom:none").empty());
  CHECK(c.engine->attribute_key_usage("node:os").front().string_holders == 8);  // not X1

  SECTION("a type conflict shows as holders of two types") {
    const std::vector<AttrChange> number = {AttrChange::set("custom:tier", 3.0)};
    REQUIRE(c.engine->apply(device(*c.engine, "D1"), number, kFixtureNow).ok);
    CHECK(c.engine->attribute_key_usage("custom:tier") ==
          std::vector<AttributeKeyUsage>{{"custom:tier", 1, 1, 0}});
  }
  SECTION("a case conflict shows as a second spelling") {
    const std::vector<AttrChange> other_case = {AttrChange::set("custom:Tier", true)};
    REQUIRE(c.engine->apply(device(*c.engine, "D1"), other_case, kFixtureNow).ok);
    CHECK(c.engine->attribute_key_usage("custom:TIER") ==
          std::vector<AttributeKeyUsage>{{"custom:tier", 1, 0, 0}, {"custom:Tier", 0, 0, 1}});
  }
  SECTION("replacing a value moves the holder; deleting forgets it") {
    const auto d3 = device(*c.engine, "D3");
    const std::vector<AttrChange> retype = {AttrChange::set("custom:tier", false)};
    REQUIRE(c.engine->apply(d3, retype, kFixtureNow).ok);
    CHECK(c.engine->attribute_key_usage("custom:tier") ==
          std::vector<AttributeKeyUsage>{{"custom:tier", 0, 0, 1}});
    const std::vector<AttrChange> remove = {AttrChange::remove("custom:tier"),
                                            AttrChange::remove("custom:absent")};
    REQUIRE(c.engine->apply(d3, remove, kFixtureNow).ok);
    CHECK(c.engine->attribute_key_usage("custom:tier").empty());
  }
  SECTION("expired attributes are still held until deleted") {
    const std::vector<AttrChange> expiring = {
        AttrChange::set("custom:temp", std::string("x"), kFixtureNow + 5)};
    REQUIRE(c.engine->apply(device(*c.engine, "D2"), expiring, kFixtureNow).ok);
    c.engine->advance_time(kFixtureNow + 10);
    CHECK(c.engine->attribute_key_usage("custom:temp").front().holders() == 1);
  }
  SECTION("a reload counts the new inventory") {
    auto inventory = test::fixture_inventory();
    inventory.devices[0].attributes["custom:tier"] = std::string("silver");
    c.engine->reload(c.loaded.file, *c.loaded.ast, inventory, {kFixtureNow});
    CHECK(c.engine->attribute_key_usage("custom:tier") ==
          std::vector<AttributeKeyUsage>{{"custom:tier", 2, 0, 0}});
  }
}

TEST_CASE("usage built after changes equals usage kept through them", "[engine][attributes]") {
  auto kept = compiled();
  (void)kept.engine->attribute_key_usage("custom:tier");  // built now, maintained from here
  auto fresh = compiled();
  const std::vector<AttrChange> changes = {AttrChange::set("custom:tier", 1.0),
                                           AttrChange::set("Custom:Tier", std::string("a")),
                                           AttrChange::remove("node:os")};
  for (auto* c : {&kept, &fresh}) {
    REQUIRE(c->engine->apply(device(*c->engine, "D4"), changes, kFixtureNow).ok);
  }
  for (const char* key : {"custom:tier", "node:os", "custom:score"}) {
    INFO(key);
    CHECK(kept.engine->attribute_key_usage(key) == fresh.engine->attribute_key_usage(key));
  }
}

}  // namespace attribute_state_test
