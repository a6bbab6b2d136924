// The sync over real HTTP: CurlTransport against postern-kandji-sim on 127.0.0.1.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "env_number.hpp"
#include "fake_transport.hpp"
#include "kandji_sim.hpp"
#include "postern/store/store.hpp"
#include "postern/sync/scheduler.hpp"

namespace loopback_test {

using namespace postern;
using namespace postern::sync;
using nlohmann::json;

namespace {

TokenReader test_token_reader(std::filesystem::path db) {
  return [db = std::move(db)](const Integration& integration) {
    return store::read_token(db, integration.provider);
  };
}

const std::string kToken = "5e0c2a4b-7d1f-4e3a-9b6c-0f8e2d4a6c19";

struct Loopback {
  test::TempDir dir;
  test::Simulator sim;
  FakeClock clock;  // retries and Retry-After cost no real time
  std::unique_ptr<HttpTransport> transport;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<SyncEngine> engine;
  Integration integration;
  std::vector<TailnetNode> nodes;
  std::vector<std::string> messages;  // every error text produced, to check for the token

  // `compression`: gzip costs the simulator more than it saves on loopback, so the large
  // listings turn it off; the small ones keep the production default.
  explicit Loopback(std::vector<std::string> sim_args, bool compression = true)
      : sim(dir.path(), std::move(sim_args), kToken),
        transport(make_curl_transport(CurlOptions{compression})) {
    store = std::move(store::open_sqlite_store(dir.path() / "postern.db").value());
    REQUIRE(store::write_token(dir.path() / "postern.db", "kandji", kToken).ok());
    EngineOptions options;
    options.fetch.backoff_base = Millis{20};
    options.fetch.backoff_cap = Millis{100};
    options.fetch.request_timeout = Millis{3'000};
    options.fetch.max_retry_wait = Millis{5'000};
    engine = std::make_unique<SyncEngine>(*store, *transport, clock,
                                          test_token_reader(dir.path() / "postern.db"), options);
    const auto now = to_unix(clock.now());
    integration = store
                      ->create_integration(Integration{0, "kandji", sim.url(), 0, now, now, ""},
                                           AuditEvent{0, now, "admin:test", "",
                                                      std::string(kActionCreate), "{}", ""})
                      .value();
    // Every simulated device becomes a tailnet node with the same serial.
    const json devices = json::parse(sim.get("/_sim/devices"));
    const json& list = devices.is_array() ? devices : devices.at("devices");
    for (const auto& d : list) {
      const std::string serial = d.value("serial_number", "");
      if (serial.empty()) continue;
      nodes.push_back(TailnetNode{"node-" + serial, serial, {serial}, false, {}});
    }
  }

  SyncReport run() {
    auto report = engine->sync(integration, nodes);
    if (report.error) messages.push_back(report.error->message);
    if (auto s = store->load_status(integration.id)) messages.push_back(s.value().last_error);
    return report;
  }
  std::size_t attribute_rows() {
    std::size_t n = 0;
    const auto table = store->load_attributes();
    for (const auto& [device, attrs] : table.value()) n += attrs.size();
    return n;
  }
  std::size_t events() { return store->audit_log({}).value().size(); }
  json requests() { return json::parse(sim.get("/_sim/requests")); }
  void faults(const std::string& body) { sim.post("/_sim/faults", body); }
  void check_no_token() {
    for (const auto& m : messages) CHECK(m.find(kToken) == std::string::npos);
  }
};

// POSTERN_LOOPBACK_DEVICES (default 10,000, the spec's scale): the ASan run uses fewer, as it
// does for the soak test (D8); the paths are the same, only the page count differs.
std::size_t generated_devices() {
  const auto devices = test::env_number("POSTERN_LOOPBACK_DEVICES", 10'000);
  return devices > 0 ? static_cast<std::size_t>(devices) : 10'000;
}

std::vector<std::string> samples() {
  return {"--devices", std::string(POSTERN_SOURCE_DIR) + "/samples/kandji-devices.json"};
}

}  // namespace

TEST_CASE("loopback: 10,000 devices page by cursor and by offset", "[sync][loopback]") {
  const std::size_t devices = generated_devices();
  const int pages = static_cast<int>((devices + 299) / 300);  // Kandji's largest page
  for (const char* style : {"cursor", "offset"}) {
    INFO(style << ", " << devices << " devices");
    Loopback lb({"--generate", std::to_string(devices), "--seed", "7", "--page-style", style},
                false);
    REQUIRE(lb.nodes.size() >= devices * 9 / 10);
    auto report = lb.run();
    REQUIRE(report.ok);
    CHECK(report.provider_devices == devices);
    CHECK(report.pages == pages);
    CHECK(report.matched == lb.nodes.size() - report.ambiguous_serials.size() * 2);
    CHECK(lb.attribute_rows() == 2 * report.matched);
    const auto log = lb.requests();
    CHECK(log.size() >= static_cast<std::size_t>(pages));
    lb.check_no_token();
  }
}

TEST_CASE("loopback: a second identical sync writes and logs nothing", "[sync][loopback]") {
  Loopback lb(samples());
  auto first = lb.run();
  REQUIRE(first.ok);
  CHECK(first.changed_nodes > 0);
  const auto events = lb.events();
  auto second = lb.run();
  REQUIRE(second.ok);
  CHECK(second.changed_nodes == 0);
  CHECK(lb.events() == events);
}

TEST_CASE("loopback: 401 pauses, a configuration change resumes and syncs", "[sync][loopback]") {
  Loopback lb(samples());
  lb.sim.post("/_sim/token", R"({"token": "a-different-token"})");
  auto report = lb.run();
  REQUIRE_FALSE(report.ok);
  CHECK(report.error->kind == SyncErrorKind::Auth);
  CHECK(lb.attribute_rows() == 0);
  auto status = lb.store->load_status(lb.integration.id).value();
  REQUIRE(status.paused_until.has_value());
  CHECK(*status.paused_until >= to_unix(lb.clock.now()) + 24 * 3600 - 5);

  Scheduler scheduler(*lb.store, *lb.engine, lb.clock,
                      [&] { return Result<std::vector<TailnetNode>>(lb.nodes); });
  CHECK(scheduler.run_pending() == 0);  // paused

  lb.sim.post("/_sim/token", R"({"token": ")" + kToken + R"("})");
  Integration changed = lb.integration;
  changed.updated_at = to_unix(lb.clock.now());
  REQUIRE(lb.store
              ->update_integration(
                  changed, AuditEvent{0, changed.updated_at, "admin:test", "integration:kandji",
                                      std::string(kActionUpdate), "{}", ""})
              .ok());
  CHECK(scheduler.run_pending() == 1);
  status = lb.store->load_status(lb.integration.id).value();
  CHECK_FALSE(status.paused_until.has_value());
  CHECK(status.last_error.empty());
  CHECK(lb.attribute_rows() > 0);
  lb.check_no_token();
}

TEST_CASE("loopback: 429 with Retry-After is honoured", "[sync][loopback]") {
  Loopback lb(samples());
  lb.faults(R"([{"kind":"status","status":429,"retry_after":"1","on_request":1,"times":1}])");
  auto report = lb.run();
  REQUIRE(report.ok);
  CHECK(lb.clock.slept() == std::chrono::seconds(1));  // the header, as libcurl read it
  CHECK(lb.requests().size() == 2);
}

TEST_CASE("loopback: 5xx is retried, then the sync fails with nothing written",
          "[sync][loopback]") {
  Loopback lb(samples());
  REQUIRE(lb.run().ok);
  const auto rows = lb.attribute_rows();
  const auto events = lb.events();
  lb.sim.post("/_sim/devices/C02CAROL0005", R"({"agent_installed": true})");
  lb.sim.del("/_sim/requests");
  lb.faults(R"([{"kind":"status","status":503,"html":true,"times":-1}])");
  auto report = lb.run();
  REQUIRE_FALSE(report.ok);
  CHECK(report.error->kind == SyncErrorKind::Transient);
  CHECK(lb.requests().size() == 4);  // max_attempts
  CHECK(lb.attribute_rows() == rows);
  CHECK(lb.events() == events);
  auto carol = lb.store->device_attributes("node-C02CAROL0005").value();
  CHECK(std::get<bool>(carol.at("kandji:agentInstalled").value) == false);
}

TEST_CASE("loopback: malformed, truncated and revoked pages write nothing", "[sync][loopback]") {
  for (const char* fault :
       {R"([{"kind":"malformed","times":-1}])", R"([{"kind":"truncated","times":-1}])",
        R"([{"kind":"cursor_wrong_type","times":-1}])",
        R"([{"kind":"revoke_token_on_page","page":2}])"}) {
    INFO(fault);
    Loopback lb({"--generate", "700", "--seed", "3"}, false);
    lb.faults(fault);
    auto report = lb.run();
    REQUIRE_FALSE(report.ok);
    CHECK(lb.attribute_rows() == 0);
    CHECK(lb.events() == 1);  // the create event only
    lb.check_no_token();
  }
}

// A wrong URL or a hostile server must not exhaust memory: a valid page padded with spaces
// (a few KB once gzipped) is refused at the page cap, counted after decoding.
TEST_CASE("loopback: an answer over the page cap is refused before it is held",
          "[sync][loopback]") {
  for (const bool compression : {true, false}) {
    INFO("compression " << compression);
    Loopback lb({"--generate", "50", "--seed", "4"}, compression);
    lb.faults(R"([{"kind":"padded","bytes":3000000,"times":-1}])");
    auto options = lb.engine->options();
    options.fetch.max_page_bytes = std::size_t{1} << 20;
    SyncEngine capped(*lb.store, *lb.transport, lb.clock,
                      test_token_reader(lb.dir.path() / "postern.db"), options);
    auto report = capped.sync(lb.integration, lb.nodes);
    REQUIRE_FALSE(report.ok);
    CHECK(report.error->kind == SyncErrorKind::Protocol);
    CHECK(report.error->message ==
          "page 1: the answer is larger than 1 MiB (decoded); check that the API URL is the "
          "provider's");
    CHECK(lb.requests().size() == 1);  // not retried: the same page would be as large
    CHECK(lb.attribute_rows() == 0);

    options.fetch.max_page_bytes = std::size_t{4} << 20;  // room for it: the same page syncs
    SyncEngine roomy(*lb.store, *lb.transport, lb.clock,
                     test_token_reader(lb.dir.path() / "postern.db"), options);
    CHECK(roomy.sync(lb.integration, lb.nodes).ok);
  }
}

TEST_CASE("loopback: duplicate rows across pages are de-duplicated", "[sync][loopback]") {
  Loopback lb({"--generate", "700", "--seed", "5"}, false);
  lb.faults(R"([{"kind":"duplicate_rows","page":2,"count":5}])");
  auto report = lb.run();
  REQUIRE(report.ok);
  CHECK(report.provider_devices == 700);
}

TEST_CASE("loopback: a slow response hits the request timeout", "[sync][loopback]") {
  Loopback lb(samples());
  lb.faults(R"([{"kind":"slow","delay_ms":5000,"times":-1}])");
  auto options = lb.engine->options();
  options.fetch.request_timeout = Millis{300};
  options.fetch.max_attempts = 2;
  SyncEngine quick(*lb.store, *lb.transport, lb.clock,
                   test_token_reader(lb.dir.path() / "postern.db"), options);
  auto report = quick.sync(lb.integration, lb.nodes);
  REQUIRE_FALSE(report.ok);
  CHECK(report.error->kind == SyncErrorKind::Transient);
}

TEST_CASE("loopback: a device that left Kandji loses attributes only after a successful sync",
          "[sync][loopback]") {
  Loopback lb(samples());
  REQUIRE(lb.run().ok);
  REQUIRE(lb.store->device_attributes("node-C02ERIN0006").value().size() == 2);
  lb.sim.del("/_sim/devices/C02ERIN0006");
  lb.faults(R"([{"kind":"status","status":500,"times":-1}])");
  REQUIRE_FALSE(lb.run().ok);
  CHECK(lb.store->device_attributes("node-C02ERIN0006").value().size() == 2);
  lb.sim.del("/_sim/faults");
  REQUIRE(lb.run().ok);
  CHECK(lb.store->device_attributes("node-C02ERIN0006").value().empty());
}

}  // namespace loopback_test
