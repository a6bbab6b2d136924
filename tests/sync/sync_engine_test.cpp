// SyncEngine over FakeTransport + a real SQLite store: all-or-nothing, diffing, audit events,
// removals and the mass-removal guard, authentication pause, token redaction.
#include "postern/sync/sync_engine.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fake_transport.hpp"
#include "postern/store/store.hpp"

namespace sync_engine_test {

using namespace postern;
using namespace postern::sync;
using nlohmann::json;

namespace {

struct Harness {
  test::TempDir dir;
  FakeClock clock;
  test::FakeTransport transport;
  test::PagedKandji kandji;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<SyncEngine> engine;
  Integration integration;
  std::vector<TailnetNode> nodes;

  Harness() {
    auto opened = store::open_sqlite_store(dir.path() / "postern.db");
    REQUIRE(opened.ok());
    store = std::move(opened.value());
    EngineOptions options;
    options.fetch.jitter_seed = 7;
    engine = std::make_unique<SyncEngine>(
        *store, transport, clock,
        [this](const Integration&) { return Result<std::string>(kandji.token); }, options);
    transport.set_handler([this](const HttpRequest& r, int) { return kandji.serve(r); });
    integration =
        store
            ->create_integration(
                Integration{0, "kandji", "https://acme.api.kandji.io", 0, 1000, 1000, ""},
                AuditEvent{0, 1000, "admin:t", "", "Create posture integration", "{}", ""})
            .value();
    for (int i = 0; i < 6; ++i) {
      const std::string n = std::to_string(i);
      kandji.rows.push_back(test::kandji_row("id" + n, "SER" + n, true, i % 2 == 0));
      nodes.push_back(TailnetNode{"node" + n, "host" + n, {"ser" + n}, false, {}});
    }
  }

  SyncReport run() { return engine->sync(integration, nodes); }
  std::size_t node_events() {
    std::size_t n = 0;
    const auto log = store->audit_log({});
    for (const auto& e : log.value()) {
      if (e.action == kActionNodeAttribute) ++n;
    }
    return n;
  }
  std::optional<bool> agent(const std::string& node) {
    auto attrs = store->device_attributes(node).value();
    auto it = attrs.find("kandji:agentInstalled");
    if (it == attrs.end()) return std::nullopt;
    return std::get<bool>(it->second.value);
  }
};

}  // namespace

TEST_CASE("a first sync writes every matched node, a second identical sync writes nothing",
          "[sync][engine]") {
  Harness h;
  auto first = h.run();
  REQUIRE(first.ok);
  CHECK(first.matched == 6);
  CHECK(first.changed_nodes == 6);
  CHECK(h.node_events() == 6);
  CHECK(h.agent("node0") == true);
  CHECK(h.agent("node1") == false);
  auto status = h.store->load_status(h.integration.id).value();
  CHECK(status.last_success.has_value());
  CHECK(status.provider_host_count == 6);
  CHECK(status.matched_count == 6);
  CHECK(status.possible_matched_count == 6);
  CHECK(status.pages == 1);

  const auto events = h.store->audit_log({}).value();
  const auto& e = events.back();
  CHECK(e.actor == "integration:kandji");
  CHECK(e.target == "node:node5");
  const json details = json::parse(e.details);
  CHECK(details["changes"].size() == 2);
  CHECK(details["changes"][0]["key"] == "kandji:agentInstalled");
  CHECK(details["changes"][0]["new"] == false);
  CHECK_FALSE(details["changes"][0].contains("old"));

  auto second = h.run();
  REQUIRE(second.ok);
  CHECK(second.changed_nodes == 0);
  CHECK(h.node_events() == 6);
}

TEST_CASE("providerHostCount counts every record, those without a serial too", "[sync][engine]") {
  Harness h;
  h.kandji.rows.push_back(test::kandji_row("idN", "", true, true));
  const auto report = h.run();
  REQUIRE(report.ok);
  CHECK(report.provider_devices == 7);
  const auto status = h.store->load_status(h.integration.id).value();
  CHECK(status.provider_host_count == 7);
  CHECK(status.records_without_serial == 1);
  CHECK(status.matched_count == 6);
}

TEST_CASE("a changed device gets one event listing old and new", "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  h.kandji.rows[1] = test::kandji_row("id1", "SER1", true, true);
  auto report = h.run();
  REQUIRE(report.ok);
  CHECK(report.changed_nodes == 1);
  CHECK(h.agent("node1") == true);
  const json details = json::parse(h.store->audit_log({}).value().back().details);
  REQUIRE(details["changes"].size() == 1);
  CHECK(details["changes"][0] ==
        json{{"key", "kandji:agentInstalled"}, {"old", false}, {"new", true}});
}

TEST_CASE("failed or partial fetches write nothing but status", "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  const auto before = h.store->load_attributes().value().size();
  const auto events_before = h.store->audit_log({}).value().size();
  h.kandji.rows.clear();
  for (int i = 0; i < 700; ++i) {
    h.kandji.rows.push_back(
        test::kandji_row("x" + std::to_string(i), "X" + std::to_string(i), false, false));
  }
  SECTION("malformed second page") {
    h.transport.set_handler([&](const HttpRequest& r, int n) {
      if (n == 2) return test::json_response(200, test::read_fixture("cursor_number.json"));
      return h.kandji.serve(r);
    });
  }
  SECTION("server errors on every retry") {
    h.transport.set_handler([&](const HttpRequest& r, int n) {
      if (n >= 2) return test::json_response(502, test::read_fixture("html_error.html"));
      return h.kandji.serve(r);
    });
  }
  auto report = h.run();
  REQUIRE_FALSE(report.ok);
  CHECK(h.store->load_attributes().value().size() == before);
  CHECK(h.store->audit_log({}).value().size() == events_before);
  CHECK(h.agent("node0") == true);
  const auto status = h.store->load_status(h.integration.id).value();
  CHECK_FALSE(status.last_error.empty());
  CHECK(status.matched_count == 6);  // the last success's figures stay
  CHECK_FALSE(status.paused_until.has_value());
}

// A review saw durationMs stay at the last success's while every sync was timing out.
TEST_CASE("a failed attempt records when it ended and how long it took", "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  h.transport.set_handler([&](const HttpRequest&, int) {
    h.clock.advance(std::chrono::seconds{40});  // a provider that answers slowly, then fails
    return test::json_response(400, R"({"detail":"bad request"})");
  });
  const auto started = to_unix(h.clock.now());
  auto report = h.run();
  REQUIRE_FALSE(report.ok);
  const auto status = h.store->load_status(h.integration.id).value();
  CHECK(status.duration_ms == report.duration.count());
  CHECK(status.duration_ms >= 40'000);
  CHECK(status.last_attempt == started + status.duration_ms / 1000);
  CHECK(status.last_success == started);
}

TEST_CASE("an authentication failure pauses for 24 hours and never leaks the token",
          "[sync][engine]") {
  Harness h;
  h.transport.set_handler([&](const HttpRequest&, int) {
    return test::json_response(401, R"({"detail":"token )" + h.kandji.token + R"( revoked"})");
  });
  auto report = h.run();
  REQUIRE_FALSE(report.ok);
  CHECK(report.error->kind == SyncErrorKind::Auth);
  const auto status = h.store->load_status(h.integration.id).value();
  CHECK(status.paused_until == to_unix(h.clock.now()) + 24 * 3600);
  CHECK(status.next_run == status.paused_until);
  CHECK(status.last_error_kind == "auth");
  CHECK(status.last_error.find(h.kandji.token) == std::string::npos);
  CHECK(report.error->message.find(h.kandji.token) == std::string::npos);
}

TEST_CASE("error text is redacted and truncated in status", "[sync][engine]") {
  Harness h;
  h.transport.set_handler([&](const HttpRequest&, int) {
    return Result<HttpResponse>(SyncError{
        SyncErrorKind::Transient, "failed for Bearer " + h.kandji.token + std::string(900, 'x')});
  });
  REQUIRE_FALSE(h.run().ok);
  const auto status = h.store->load_status(h.integration.id).value();
  CHECK(status.last_error.find(h.kandji.token) == std::string::npos);
  CHECK(status.last_error.find("[REDACTED]") != std::string::npos);
  CHECK(status.last_error.size() <= 503);
}

TEST_CASE("devices that left the provider lose their attributes after a successful sync",
          "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  h.kandji.rows.erase(h.kandji.rows.begin());  // id0 left Kandji
  auto report = h.run();
  REQUIRE(report.ok);
  CHECK(report.changed_nodes == 1);
  CHECK_FALSE(h.agent("node0").has_value());
  CHECK(h.store->device_attributes("node0").value().empty());
  const json details = json::parse(h.store->audit_log({}).value().back().details);
  CHECK(details["changes"].size() == 2);
  CHECK_FALSE(details["changes"][0].contains("new"));
}

TEST_CASE("nodes gone from the tailnet or without consent lose provider attributes only",
          "[sync][engine]") {
  Harness h;
  REQUIRE(h.store
              ->write_attributes(
                  {{"node2", "custom:tier", AttrValue{std::string("gold")}, "api", {}}}, {})
              .ok());
  REQUIRE(h.run().ok);
  h.nodes[2].posture_disabled = true;
  h.nodes.pop_back();  // node5 left the tailnet
  auto report = h.run();
  REQUIRE(report.ok);
  CHECK(report.changed_nodes == 2);
  auto node2 = h.store->device_attributes("node2").value();
  CHECK(node2.size() == 1);
  CHECK(node2.count("custom:tier") == 1);
  CHECK(h.store->device_attributes("node5").value().empty());
}

TEST_CASE("the mass-removal guard holds back one suspicious sync", "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  h.kandji.rows.clear();  // an empty snapshot: outage or wrong tenant?
  auto held = h.run();
  REQUIRE(held.ok);
  CHECK(held.removals_held == 6);
  CHECK(held.changed_nodes == 0);
  CHECK(h.agent("node3") == false);
  auto status = h.store->load_status(h.integration.id).value();
  CHECK_FALSE(status.warning.empty());
  CHECK(status.suspect_streak == 1);
  auto confirmed = h.run();
  REQUIRE(confirmed.ok);
  CHECK(confirmed.changed_nodes == 6);
  CHECK(h.store->load_attributes().value().empty());
  CHECK(h.store->load_status(h.integration.id).value().warning.empty());

  SECTION("a recovery between the two syncs cancels the removal") {
    Harness g;
    REQUIRE(g.run().ok);
    const auto rows = g.kandji.rows;
    g.kandji.rows.resize(2);  // 4 of 6 matched nodes would lose attributes: > 50 %
    CHECK(g.run().removals_held == 4);
    g.kandji.rows = rows;
    auto back = g.run();
    CHECK(back.changed_nodes == 0);
    CHECK(g.store->load_status(g.integration.id).value().suspect_streak == 0);
    CHECK(g.agent("node4") == true);
  }
}

TEST_CASE(
    "provider values the inventory file gives are masked once the provider no longer "
    "vouches for the node",
    "[sync][engine]") {
  Harness h;
  const FileValues managed{{"kandji:agentInstalled", AttrValue{true}},
                           {"kandji:mdmEnabled", AttrValue{true}},
                           {"node:os", AttrValue{std::string("macos")}}};
  h.nodes[0].file_attributes = managed;  // Kandji says the same: nothing to write
  h.nodes.push_back(TailnetNode{"stale", "stale-host", {"SERX"}, false, managed});
  h.nodes.push_back(TailnetNode{
      "plain", "plain-host", {"SERY"}, false, {{"kandji:agentInstalled", AttrValue{false}}}});
  auto first = h.run();
  REQUIRE(first.ok);
  CHECK(first.changed_nodes == 6);  // node1..node5 and `stale`
  CHECK(h.store->device_attributes("node0").value().empty());
  CHECK(h.store->device_attributes("plain").value().empty());  // already not true
  CHECK(h.agent("stale") == false);
  const auto stale = h.store->device_attributes("stale").value();
  REQUIRE(stale.count("kandji:mdmEnabled") == 1);
  CHECK(std::get<bool>(stale.at("kandji:mdmEnabled").value) == false);
  CHECK(stale.count("node:os") == 0);
  const json details = json::parse(h.store->audit_log({}).value().back().details);
  CHECK(details["node"] == "stale");
  CHECK(details["changes"] ==
        json::array({{{"key", "kandji:agentInstalled"}, {"new", false}, {"old", true}},
                     {{"key", "kandji:mdmEnabled"}, {"new", false}, {"old", true}}}));

  CHECK(h.run().changed_nodes == 0);  // stable

  // Enrolled after all: Kandji's values replace the masks.
  h.kandji.rows.push_back(test::kandji_row("idX", "SERX", true, true));
  REQUIRE(h.run().changed_nodes == 1);
  CHECK(h.agent("stale") == true);
}

TEST_CASE("ambiguous nodes are reported and left untouched", "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  h.nodes.push_back(TailnetNode{"clone", "clone", {"SER0"}, false, {}});
  auto report = h.run();
  REQUIRE(report.ok);
  CHECK(report.ambiguous_serials == std::vector<std::string>{"SER0"});
  CHECK(h.agent("node0") == true);  // kept, not cleared
  CHECK_FALSE(h.agent("clone").has_value());
  CHECK(h.store->load_status(h.integration.id).value().ambiguous_serials ==
        std::vector<std::string>{"SER0"});
}

TEST_CASE("removing an integration clears its attributes with one event per node",
          "[sync][engine]") {
  Harness h;
  REQUIRE(h.run().ok);
  REQUIRE(h.store
              ->write_attributes(
                  {{"node1", "custom:tier", AttrValue{std::string("gold")}, "api", {}}}, {})
              .ok());
  const auto plan =
      plan_removal(h.integration, h.store->load_attributes().value(), "admin:test", 2000);
  REQUIRE(h.store->remove_integration(h.integration.id, plan.writes, plan.events).ok());
  const auto table = h.store->load_attributes().value();
  REQUIRE(table.size() == 1);
  CHECK(table.at("node1").count("custom:tier") == 1);
  const auto log = h.store->audit_log({}).value();
  CHECK(log.back().action == kActionRemove);
  CHECK(h.node_events() == 12);  // 6 from the sync, 6 from the removal
  CHECK_FALSE(h.store->find_integration("kandji").value().has_value());
}

}  // namespace sync_engine_test
