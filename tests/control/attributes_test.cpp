// custom:* attributes through control::Tailnet on the samples, a real SQLite store and a
// FakeClock: decisions flip on a write and back when its expiry passes (no real time waited),
// one type per key and no case-only variants (against the tailnet and within one batch), a batch
// is all or nothing, the inventory's values are not the API's to delete, and each change is one
// audit event per device.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "open_tailnet.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/control/attribute_rules.hpp"
#include "postern/control/query.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/grammar/time.hpp"
#include "postern/sync/clock.hpp"
#include "scratch.hpp"

namespace attributes_test {

using namespace postern;
using control::AttributeEdit;
using control::ErrorKind;

namespace {

struct Fixture {
  test::ScratchDir dir{"postern-control-attrs"};
  sync::FakeClock clock;
  std::unique_ptr<control::Tailnet> tailnet = open();
  control::Actor admin{"admin:alice", "CLI"};

  std::unique_ptr<control::Tailnet> open() {
    return test::open_tailnet({.db = dir.file("postern.db")}, clock);
  }

  bool accepts(const std::string& src, const std::string& dst) {
    control::QueryInput q;
    q.src = src;
    q.dst = dst;
    auto answer = control::check(*tailnet->snapshot(), q);
    REQUIRE(answer.ok());
    return answer.value().answer.accept;
  }

  std::int64_t now() { return sync::to_unix(clock.now()); }

  std::optional<engine::AttrValue> value(const std::string& device, const std::string& key) {
    auto view = tailnet->device_attributes(device);
    REQUIRE(view.ok());
    for (const auto& a : view.value().attributes) {
      if (a.key == key) return a.value;
    }
    return std::nullopt;
  }

  // The audit log's attribute events.
  std::vector<sync::AuditEvent> attribute_log() {
    store::AuditQuery q;
    q.action = "Update node attribute";
    auto log = tailnet->audit(q);
    REQUIRE(log.ok());
    return std::move(log.value());
  }
  std::size_t attribute_events() { return attribute_log().size(); }
};

}  // namespace

TEST_CASE("attribute values are written as their JSON values show them", "[control][attributes]") {
  const double max_safe = 9007199254740991.0;
  for (const engine::AttrValue& value :
       {engine::AttrValue{0.0}, engine::AttrValue{-0.0}, engine::AttrValue{13.0},
        engine::AttrValue{-13.0}, engine::AttrValue{max_safe}, engine::AttrValue{-max_safe},
        engine::AttrValue{max_safe + 1}, engine::AttrValue{0.5}, engine::AttrValue{-2.25},
        engine::AttrValue{1e300}, engine::AttrValue{true}, engine::AttrValue{false},
        engine::AttrValue{std::string("a \"b\"")}}) {
    std::string out;
    control::append_attribute_value_json(out, value);
    CHECK(out == control::attribute_value_json(value).dump());
  }
}

TEST_CASE("a write flips the decision at once, its expiry flips it back", "[control][attributes]") {
  Fixture f;
  REQUIRE_FALSE(f.accepts("carol-mbp", "db-1:5432"));
  const auto expiry = f.now() + 60;
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:tier", std::string("gold"), expiry,
                                   "INC-42", f.admin));
  CHECK(f.accepts("carol-mbp", "db-1:5432"));  // grants[0]: posture:gold

  f.clock.advance(std::chrono::seconds(59));
  CHECK(f.tailnet->advance_time() == 0);
  CHECK(f.accepts("carol-mbp", "db-1:5432"));
  f.clock.advance(std::chrono::seconds(1));
  CHECK(f.tailnet->advance_time() == 1);
  CHECK_FALSE(f.accepts("carol-mbp", "db-1:5432"));
  CHECK_FALSE(f.value("carol-mbp", "custom:tier"));

  SECTION("the expired write stays expired after a restart") {
    f.tailnet.reset();
    f.tailnet = f.open();
    CHECK_FALSE(f.accepts("carol-mbp", "db-1:5432"));
  }
}

TEST_CASE("an expiry in the past, or now, is refused", "[control][attributes]") {
  Fixture f;
  auto r = f.tailnet->set_attribute("carol-mbp", "custom:tier", std::string("gold"), f.now(), "",
                                    f.admin);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::Invalid);
  CHECK(f.attribute_events() == 0);
}

TEST_CASE("one type per key and no case-only variants, tailnet-wide", "[control][attributes]") {
  Fixture f;
  // bob-linux holds custom:tier as a string in the inventory file.
  auto number =
      f.tailnet->set_attribute("carol-mbp", "custom:tier", 3.0, std::nullopt, "", f.admin);
  REQUIRE_FALSE(number.ok());
  CHECK(number.error().kind == ErrorKind::Conflict);
  CHECK(number.error().message.find("custom:tier") != std::string::npos);

  auto other_case = f.tailnet->set_attribute("carol-mbp", "custom:Tier", std::string("gold"),
                                             std::nullopt, "", f.admin);
  REQUIRE_FALSE(other_case.ok());
  CHECK(other_case.error().kind == ErrorKind::Conflict);
  CHECK(other_case.error().help.find("custom:tier") != std::string::npos);

  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:score", 87.0, std::nullopt, "", f.admin));
  SECTION("a device's own value of another type is replaced, not a conflict") {
    REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:score", std::string("high"), std::nullopt,
                                     "", f.admin));
    CHECK(f.value("carol-mbp", "custom:score") == engine::AttrValue{std::string("high")});
  }
  SECTION("another device's value of another type is a conflict") {
    auto clash = f.tailnet->set_attribute("alice-mbp", "custom:score", std::string("high"),
                                          std::nullopt, "", f.admin);
    REQUIRE_FALSE(clash.ok());
    CHECK(clash.error().kind == ErrorKind::Conflict);
  }
  SECTION("deleting the last holder frees the key for another type") {
    REQUIRE(f.tailnet->delete_attribute("carol-mbp", "custom:score", "", f.admin));
    CHECK(f.tailnet->set_attribute("alice-mbp", "custom:score", true, std::nullopt, "", f.admin));
  }
}

TEST_CASE("a batch is all or nothing and held to the same rules within itself",
          "[control][attributes]") {
  Fixture f;
  const auto before = f.attribute_events();
  SECTION("two edits of one batch disagree on the type") {
    auto r = f.tailnet->edit_attributes(
        {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{1.0}, std::nullopt},
         AttributeEdit{"alice-mbp", "custom:level", engine::AttrValue{std::string("one")},
                       std::nullopt}},
        "", f.admin);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::Conflict);
  }
  SECTION("two edits of one batch differ only in case") {
    auto r = f.tailnet->edit_attributes(
        {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{1.0}, std::nullopt},
         AttributeEdit{"alice-mbp", "custom:Level", engine::AttrValue{2.0}, std::nullopt}},
        "", f.admin);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::Conflict);
  }
  SECTION("a valid edit followed by an unknown device") {
    auto r = f.tailnet->edit_attributes(
        {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{1.0}, std::nullopt},
         AttributeEdit{"no-such-device", "custom:level", engine::AttrValue{2.0}, std::nullopt}},
        "", f.admin);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::NotFound);
  }
  // Nothing of a refused batch was applied, stored or audited.
  CHECK_FALSE(f.value("carol-mbp", "custom:level"));
  CHECK(f.attribute_events() == before);
}

TEST_CASE("a batch writes one audit event per device", "[control][attributes]") {
  Fixture f;
  REQUIRE(f.tailnet->edit_attributes(
      {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{1.0}, std::nullopt},
       AttributeEdit{"carol-mbp", "custom:team", engine::AttrValue{std::string("db")},
                     std::nullopt},
       AttributeEdit{"alice-mbp", "custom:level", engine::AttrValue{2.0}, std::nullopt}},
      "bulk import", f.admin));
  const auto log = f.attribute_log();
  REQUIRE(log.size() == 2);
  for (const auto& e : log) {
    CHECK(e.actor == "admin:alice");
    const auto details = nlohmann::json::parse(e.details);
    CHECK(details["comment"] == "bulk import");
    if (e.target == "node:nCar0lMBP05") CHECK(details["changes"].size() == 2);
  }
}

TEST_CASE("an audit event's details: each change with old, new and expiry, the comment escaped",
          "[control][attributes]") {
  Fixture f;
  REQUIRE(f.tailnet->edit_attributes(
      {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{1.0}, std::nullopt}}, "",
      f.admin));
  const std::int64_t expiry = f.now() + 3600;
  REQUIRE(f.tailnet->edit_attributes(
      {AttributeEdit{"carol-mbp", "custom:level", engine::AttrValue{2.0}, expiry},
       AttributeEdit{"carol-mbp", "custom:team", engine::AttrValue{std::string("db")},
                     std::nullopt}},
      "ticket \"7\"\tdone", f.admin));
  const auto log = f.attribute_log();
  REQUIRE(log.size() == 2);
  const auto& first = log[0].details;
  const auto& second = log[1].details;
  const bool newest_first = second.find("custom:team") == std::string::npos;
  const auto& later = newest_first ? first : second;
  const auto& earlier = newest_first ? second : first;
  CHECK(earlier ==
        R"({"changes":[{"key":"custom:level","new":1}],"name":"carol-mbp","node":"nCar0lMBP05"})");
  CHECK(later ==
        fmt::format(R"({{"changes":[{{"expiry":"{}","key":"custom:level","new":2,"old":1}},)"
                    R"({{"key":"custom:team","new":"db"}}],"comment":"ticket \"7\"\tdone",)"
                    R"("name":"carol-mbp","node":"nCar0lMBP05"}})",
                    timefmt::format_rfc3339(expiry)));
  CHECK_FALSE(nlohmann::json::parse(later, nullptr, false).is_discarded());
}

TEST_CASE("the inventory's values are not the API's to delete", "[control][attributes]") {
  Fixture f;
  auto r = f.tailnet->delete_attribute("bob-linux", "custom:tier", "", f.admin);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::Conflict);
  CHECK(f.value("bob-linux", "custom:tier"));
}

TEST_CASE("the inventory is shared with the engine until a stored attribute lies over it",
          "[control][attributes]") {
  Fixture f;
  const auto carol_tier =
      [](const engine::Inventory& inventory) -> std::optional<engine::AttrValue> {
    for (const auto& d : inventory.devices) {
      if (d.hostname != "carol-mbp") continue;
      const auto it = d.attributes.find("custom:tier");
      if (it != d.attributes.end()) return it->second;
    }
    return std::nullopt;
  };
  // Nothing stored: the engine serves the loaded inventory itself, not a copy.
  CHECK(f.tailnet->effective_inventory().get() == &f.tailnet->snapshot()->inventory());
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:tier", std::string("gold"), std::nullopt,
                                   "", f.admin));
  const auto effective = f.tailnet->effective_inventory();
  CHECK(carol_tier(*effective) == engine::AttrValue(std::string("gold")));
  // Reopened over the store: the stored value is laid over the file's inventory.
  f.tailnet.reset();
  f.tailnet = f.open();
  CHECK(carol_tier(f.tailnet->snapshot()->inventory()) == engine::AttrValue(std::string("gold")));
  CHECK(f.accepts("carol-mbp", "db-1:5432"));
}

TEST_CASE("writing an attribute's current value again writes and logs nothing",
          "[control][attributes]") {
  // Found by a state-growth review: each repeat added an audit row ("old":"gold","new":"gold").
  Fixture f;
  const auto expiry = f.now() + 600;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:tier", std::string("gold"), expiry, "",
                                     f.admin));
  }
  CHECK(f.attribute_events() == 1);
  // Another expiry, or none, is a change.
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:tier", std::string("gold"), std::nullopt,
                                   "", f.admin));
  CHECK(f.attribute_events() == 2);
  // So is another type with an equal look.
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:level", engine::AttrValue{1.0},
                                   std::nullopt, "", f.admin));
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:level", engine::AttrValue{1.0},
                                   std::nullopt, "", f.admin));
  CHECK(f.attribute_events() == 3);
  CHECK(f.value("carol-mbp", "custom:tier") == engine::AttrValue{std::string("gold")});
}

TEST_CASE("a device holds at most its limit of custom attributes", "[control][attributes]") {
  // Found by a state-growth review: 200,000 keys on one device made each of its reads 4 MB.
  Fixture f;
  std::vector<AttributeEdit> edits;
  for (std::size_t i = 0; i + 1 < control::kMaxCustomAttributesPerDevice; ++i) {
    edits.push_back(AttributeEdit{"carol-mbp", fmt::format("custom:k{}", i), engine::AttrValue{1.0},
                                  std::nullopt});
  }
  REQUIRE(f.tailnet->edit_attributes(edits, "", f.admin));
  // One more fits; within one batch, the batch's own new keys count too.
  const auto batch = f.tailnet->edit_attributes(
      {AttributeEdit{"carol-mbp", "custom:last", engine::AttrValue{1.0}, std::nullopt},
       AttributeEdit{"carol-mbp", "custom:over", engine::AttrValue{1.0}, std::nullopt}},
      "", f.admin);
  REQUIRE_FALSE(batch.ok());
  CHECK(batch.error().code == grammar::DiagCode::K808);
  CHECK(batch.error().message.find("256") != std::string::npos);
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:last", engine::AttrValue{1.0}, std::nullopt,
                                   "", f.admin));
  const auto over = f.tailnet->set_attribute("carol-mbp", "custom:over", engine::AttrValue{1.0},
                                             std::nullopt, "", f.admin);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::Invalid);
  // A key it holds can still change; another device has room of its own; a delete makes room.
  REQUIRE(f.tailnet->set_attribute("carol-mbp", "custom:k0", engine::AttrValue{2.0}, std::nullopt,
                                   "", f.admin));
  REQUIRE(f.tailnet->set_attribute("alice-mbp", "custom:over", engine::AttrValue{1.0}, std::nullopt,
                                   "", f.admin));
  REQUIRE(f.tailnet->delete_attribute("carol-mbp", "custom:k1", "", f.admin));
  CHECK(f.tailnet->set_attribute("carol-mbp", "custom:over", engine::AttrValue{1.0}, std::nullopt,
                                 "", f.admin));
}

}  // namespace attributes_test
