// The scheduler on a FakeClock: cadence with jitter, immediate runs after create and update,
// the 24 h authentication pause, and coalescing of concurrent triggers.
#include "postern/sync/scheduler.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "event_counter.hpp"
#include "fake_transport.hpp"
#include "postern/store/store.hpp"

namespace scheduler_test {

using namespace postern;
using namespace postern::sync;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// The tailnet every scheduler here syncs against: one node, matched by serial number.
Result<std::vector<TailnetNode>> one_node() {
  return std::vector<TailnetNode>{{"n0", "n0", {"SER0"}, false, {}}};
}

struct Harness {
  test::TempDir dir;
  FakeClock clock;
  test::FakeTransport transport;
  test::PagedKandji kandji;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<SyncEngine> engine;
  test::EventCounter reports;
  std::atomic<int> reported_while_running{0};
  Integration integration;

  explicit Harness(Millis jitter = Millis{0}, Millis rerun_spacing = Millis{0}) {
    store = std::move(store::open_sqlite_store(dir.path() / "postern.db").value());
    engine = std::make_unique<SyncEngine>(*store, transport, clock, [this](const Integration&) {
      return Result<std::string>(kandji.token);
    });
    kandji.rows.push_back(test::kandji_row("id0", "SER0", true, true));
    transport.set_handler([this](const HttpRequest& r, int) { return kandji.serve(r); });
    SchedulerOptions options;
    options.jitter = jitter;
    options.seed = 99;
    options.poll = Millis{5};
    options.rerun_spacing = rerun_spacing;
    scheduler = std::make_unique<Scheduler>(*store, *engine, clock, one_node, options,
                                            [this](const Integration& synced, const SyncReport&) {
                                              if (scheduler->running(synced.id))
                                                ++reported_while_running;
                                              reports.bump();
                                            });
    const auto now = to_unix(clock.now());
    integration = store
                      ->create_integration(
                          Integration{0, "kandji", "https://acme.api.kandji.io", 0, now, now, ""},
                          AuditEvent{0, now, "admin:t", "", "Create posture integration", "{}", ""})
                      .value();
  }
  std::unique_ptr<Scheduler> scheduler;
  // An administrator's update of the integration: the store bumps its configuration version.
  void change_configuration() {
    Integration changed = integration;
    changed.updated_at = to_unix(clock.now());
    REQUIRE(store
                ->update_integration(
                    changed, AuditEvent{0, changed.updated_at, "admin:t", "integration:kandji",
                                        "Update posture integration", "{}", ""})
                .ok());
  }
  std::int64_t next_run() { return store->load_status(integration.id).value().next_run.value(); }
};

// The store, with a step run once just before the scheduler next reads a status: the moment a
// concurrent configuration change lands between its list of integrations and their status.
class InterleavingLedger final : public SyncLedger {
 public:
  explicit InterleavingLedger(store::Store& store) : store_(store) {}
  std::function<void()> before_status;

  Result<std::vector<Integration>> list_integrations() override {
    return store_.list_integrations();
  }
  Result<std::optional<Integration>> find_integration(std::string_view provider) override {
    return store_.find_integration(provider);
  }
  Result<AttributeTable> load_attributes() override { return store_.load_attributes(); }
  Result<SyncStatus> load_status(std::int64_t integration_id) override {
    if (auto step = std::exchange(before_status, nullptr)) step();
    return store_.load_status(integration_id);
  }
  Result<SyncStatus> edit_status(std::int64_t integration_id,
                                 const std::function<void(SyncStatus&)>& edit) override {
    return store_.edit_status(integration_id, edit);
  }
  Status commit_sync(const SyncCommit& commit) override { return store_.commit_sync(commit); }

 private:
  store::Store& store_;
};

}  // namespace

TEST_CASE("create runs at once, then every interval", "[sync][scheduler]") {
  Harness h;
  CHECK(h.scheduler->run_pending() == 1);  // immediately after create
  CHECK(h.scheduler->run_pending() == 0);
  CHECK(h.next_run() == to_unix(h.clock.now()) + 15 * 60);
  h.clock.advance(minutes{14});
  CHECK(h.scheduler->run_pending() == 0);
  h.clock.advance(minutes{1});
  CHECK(h.scheduler->run_pending() == 1);
  // A simulated day costs 96 syncs and no real waiting.
  int runs = 0;
  for (int i = 0; i < 24 * 60; ++i) {
    h.clock.advance(minutes{1});
    runs += h.scheduler->run_pending();
  }
  CHECK(runs == 96);
}

// A server's test saw "running" after the log said the sync had finished: the report came
// before the state was settled.
TEST_CASE("a run reported as finished no longer reads as running", "[sync][scheduler]") {
  Harness h;
  CHECK(h.scheduler->run_pending() == 1);
  h.scheduler->trigger(h.integration.id);
  CHECK(h.scheduler->run_pending() == 1);
  CHECK(h.reports.count() == 2);
  CHECK(h.reported_while_running.load() == 0);
}

TEST_CASE("a shorter interval than the one that planned the stored slot is honoured",
          "[sync][scheduler]") {
  Harness h;
  REQUIRE(h.scheduler->run_pending() == 1);  // the 15-minute schedule plans the next slot
  SchedulerOptions every_minute;
  every_minute.interval = Millis{60'000};
  every_minute.jitter = Millis{0};
  Scheduler quick(*h.store, *h.engine, h.clock, one_node, every_minute);
  h.clock.advance(std::chrono::seconds{30});
  CHECK(quick.run_pending() == 0);
  h.clock.advance(std::chrono::seconds{31});
  CHECK(quick.run_pending() == 1);  // a minute after the last attempt, not 15
  CHECK(h.next_run() <= to_unix(h.clock.now()) + 60);
}

TEST_CASE("jitter stays within bounds and varies", "[sync][scheduler]") {
  Harness h(Millis{30'000});
  std::set<std::int64_t> offsets;
  for (int i = 0; i < 40; ++i) {
    h.scheduler->run_all_now();
    const auto offset = h.next_run() - to_unix(h.clock.now()) - 15 * 60;
    CHECK(offset >= -30);
    CHECK(offset <= 30);
    offsets.insert(offset);
  }
  CHECK(offsets.size() > 5);
}

TEST_CASE("an auth failure pauses for 24 h, a config change unpauses and syncs at once",
          "[sync][scheduler]") {
  Harness h;
  h.transport.set_handler([](const HttpRequest&, int) { return test::json_response(401, "{}"); });
  CHECK(h.scheduler->run_pending() == 1);
  const auto status = h.store->load_status(h.integration.id).value();
  REQUIRE(status.paused_until.has_value());
  h.clock.advance(hours{23});
  CHECK(h.scheduler->run_pending() == 0);
  CHECK(h.scheduler->run_all_now() == 0);  // --once skips a paused integration too
  CHECK(h.transport.count() == 1);

  SECTION("the pause expires after 24 h") {
    h.clock.advance(hours{1});
    CHECK(h.scheduler->run_pending() == 1);
  }
  SECTION("a configuration change clears it") {
    h.transport.set_handler([&](const HttpRequest& r, int) { return h.kandji.serve(r); });
    h.change_configuration();
    CHECK(h.scheduler->run_pending() == 1);
    const auto after = h.store->load_status(h.integration.id).value();
    CHECK_FALSE(after.paused_until.has_value());
    CHECK(after.last_error.empty());
    CHECK(h.store->device_attributes("n0").value().size() == 2);
  }
}

TEST_CASE("triggers during a run coalesce into one rerun, never two runs at once",
          "[sync][scheduler]") {
  Harness h;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  test::EventCounter released;
  test::EventCounter fetches;
  h.transport.set_handler([&](const HttpRequest& r, int) {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    const bool first = fetches.count() == 0;
    fetches.bump();
    if (first) released.wait_for(1);  // hold the first run while the triggers arrive
    --in_flight;
    return h.kandji.serve(r);
  });
  std::thread loop([&] { h.scheduler->run(); });
  REQUIRE(fetches.wait_for(1));
  std::vector<std::thread> triggers;
  for (int i = 0; i < 8; ++i) {
    triggers.emplace_back([&] {
      for (int j = 0; j < 10; ++j) h.scheduler->trigger(h.integration.id);
    });
  }
  for (auto& t : triggers) t.join();
  released.bump();
  REQUIRE(h.reports.wait_for(2));
  // run() returns only after its workers, so a further coalesced rerun would be counted below.
  h.scheduler->stop();
  loop.join();
  CHECK(max_in_flight.load() == 1);
  CHECK(fetches.count() == 2);  // the first run plus exactly one coalesced rerun
  CHECK(h.reports.count() == 2);
  CHECK(h.reported_while_running.load() == 1);  // the first report: its rerun was still to come
}

// A review pressed "Sync now" once a second against a slow tenant: each press during a run added a
// rerun, and the runs followed each other with no gap. With a spacing the rerun waits for it.
TEST_CASE("a trigger during a run plans the rerun a spacing after the run ends",
          "[sync][scheduler]") {
  Harness h(Millis{0}, std::chrono::duration_cast<Millis>(seconds{30}));
  test::EventCounter released;
  test::EventCounter fetches;
  h.transport.set_handler([&](const HttpRequest& r, int) {
    const bool first = fetches.count() == 0;
    fetches.bump();
    if (first) released.wait_for(1);  // hold the first run while the triggers arrive
    return h.kandji.serve(r);
  });
  std::thread loop([&] { h.scheduler->run(); });
  REQUIRE(fetches.wait_for(1));
  for (int i = 0; i < 5; ++i) h.scheduler->trigger(h.integration.id);
  released.bump();
  REQUIRE(h.reports.wait_for(1));
  const auto ended = to_unix(h.clock.now());
  CHECK(h.reported_while_running.load() == 0);  // no rerun at once: the run has finished
  CHECK(h.next_run() == ended + 30);            // not the 15-minute slot
  CHECK(fetches.count() == 1);
  h.clock.advance(seconds{30});
  REQUIRE(h.reports.wait_for(2));
  CHECK(fetches.count() == 2);
  CHECK(h.next_run() == to_unix(h.clock.now()) + 15 * 60);  // the trigger was used once
  h.scheduler->stop();
  loop.join();
}

// A "sync now" on another replica while the lease holder ran only lowered the stored slot; the
// run's commit and its next slot then replaced it with the 15-minute one: the request was lost.
TEST_CASE("a sync now stored during a run plans one more run a spacing after it",
          "[sync][scheduler]") {
  Harness h(Millis{0}, std::chrono::duration_cast<Millis>(seconds{30}));
  // What Tailnet::sync_now stores on a replica that does not run the schedule.
  const auto ask_for_a_run = [&h] {
    const auto now = to_unix(h.clock.now());
    REQUIRE(h.store
                ->edit_status(h.integration.id,
                              [now](SyncStatus& s) {
                                if (!s.next_run || *s.next_run > now) s.next_run = now;
                                ++s.sync_requests;
                              })
                .ok());
  };
  int fetches = 0;
  h.transport.set_handler([&](const HttpRequest& r, int) {
    if (fetches++ == 0) ask_for_a_run();  // while the first run reads the provider
    return h.kandji.serve(r);
  });
  REQUIRE(h.scheduler->run_pending() == 1);
  const auto ended = to_unix(h.clock.now());
  CHECK(h.next_run() == ended + 30);  // not the 15-minute slot
  CHECK(h.store->load_status(h.integration.id).value().commits == 1);
  h.clock.advance(seconds{29});
  CHECK(h.scheduler->run_pending() == 0);
  h.clock.advance(seconds{1});
  CHECK(h.scheduler->run_pending() == 1);
  CHECK(h.next_run() == to_unix(h.clock.now()) + 15 * 60);  // used once

  // A request stored before a run starts is what that run answers: no second run.
  h.clock.advance(minutes{1});
  ask_for_a_run();
  CHECK(h.scheduler->run_pending() == 1);
  CHECK(h.next_run() == to_unix(h.clock.now()) + 15 * 60);
}

// The same review paused an integration (401) while its pause was kept only in memory, then
// pressed "Sync now": the trigger was never used up, and the loop stopped waiting between looks
// at the schedule (a core spent doing nothing).
TEST_CASE("a trigger for a paused integration is used up by the look that skips it",
          "[sync][scheduler]") {
  Harness h;
  h.transport.set_handler([](const HttpRequest&, int) { return test::json_response(401, "{}"); });
  REQUIRE(h.scheduler->run_pending() == 1);
  REQUIRE(h.store->load_status(h.integration.id).value().paused_until.has_value());
  h.scheduler->trigger(h.integration.id);
  CHECK(h.scheduler->run_pending() == 0);  // paused: skipped, and the trigger is spent
  // Unpaused with its next run far off: a trigger left standing would run it now.
  auto status = h.store->load_status(h.integration.id).value();
  status.paused_until.reset();
  status.next_run = to_unix(h.clock.now()) + 3600;
  REQUIRE(h.store->save_status(h.integration.id, status).ok());
  CHECK(h.scheduler->run_pending() == 0);
  CHECK(h.transport.count() == 1);
}

// A docs review restarted a server during a sync: the integration read "failing: cancelled:
// Postern is stopping" and waited 15 minutes for its next run, across the restart.
TEST_CASE("a run abandoned by stop records no failure and stays due", "[sync][scheduler]") {
  Harness h;
  REQUIRE(h.scheduler->run_pending() == 1);
  const auto ok = h.store->load_status(h.integration.id).value();
  REQUIRE(ok.last_error.empty());
  test::EventCounter fetching;
  test::EventCounter stopped;
  h.transport.set_handler([&](const HttpRequest&, int) -> Result<HttpResponse> {
    fetching.bump();
    stopped.wait_for(1);  // the process stops while the provider is being asked
    return transport_cancelled();
  });
  h.clock.advance(minutes{15});  // due again
  std::thread loop([&] { h.scheduler->run(); });
  REQUIRE(fetching.wait_for(1));
  h.transport.cancel();
  h.scheduler->stop();
  stopped.bump();
  loop.join();
  REQUIRE(h.reports.count() == 2);
  const auto after = h.store->load_status(h.integration.id).value();
  CHECK(after.last_error.empty());
  CHECK(after.last_attempt == ok.last_attempt);
  CHECK(after.next_run == ok.next_run);  // still due: the next start runs it at once
  CHECK(after.next_run <= to_unix(h.clock.now()));
}

TEST_CASE("the run loop follows fake time and picks up external config changes",
          "[sync][scheduler]") {
  Harness h;
  std::thread loop([&] { h.scheduler->run(); });
  REQUIRE(h.reports.wait_for(1));
  h.clock.advance(minutes{16});
  REQUIRE(h.reports.wait_for(2));
  h.change_configuration();
  REQUIRE(h.reports.wait_for(3));
  CHECK(h.reports.count() == 3);
  h.scheduler->stop();
  loop.join();
}

TEST_CASE("a configuration change between the list and the status runs once, with the new one",
          "[sync][scheduler]") {
  Harness h;
  InterleavingLedger ledger(*h.store);
  test::EventCounter reports;
  std::vector<std::int64_t> synced_versions;
  Scheduler scheduler(ledger, *h.engine, h.clock, one_node, SchedulerOptions{},
                      [&](const Integration& integration, const SyncReport&) {
                        synced_versions.push_back(integration.config_version);
                        reports.bump();
                      });
  REQUIRE(scheduler.run_pending() == 1);  // the first sync after create
  REQUIRE(scheduler.run_pending() == 0);  // nothing due until the interval passes
  ledger.before_status = [&] { h.change_configuration(); };
  CHECK(scheduler.run_pending() == 1);
  CHECK(reports.count() == 2);  // not a run with the old configuration and a rerun
  REQUIRE(synced_versions.size() == 2);
  CHECK(synced_versions[1] > synced_versions[0]);
}

}  // namespace scheduler_test
