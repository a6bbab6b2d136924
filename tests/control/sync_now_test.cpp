// "Sync now" through the scheduler: made due in the store (so a stop before the run does not
// lose it) and spaced out after the last run (each run spends the provider's request budget).

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "open_tailnet.hpp"
#include "postern/control/actor.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/sync/clock.hpp"
#include "postern/sync/http_transport.hpp"
#include "scratch.hpp"

namespace sync_now_test {

using namespace std::chrono_literals;
using postern::sync::HttpRequest;
using postern::sync::HttpResponse;
namespace control = postern::control;
namespace sync = postern::sync;

const control::Actor kAlice{"admin:alice", std::string(control::kOriginApi)};

// A Kandji tenant with no devices that counts the requests it answers.
class EmptyKandji final : public sync::HttpTransport {
 public:
  sync::Result<HttpResponse> get(const HttpRequest&) override {
    std::lock_guard lock(mu_);
    ++requests_;
    if (refuse_) return HttpResponse{401, {{"content-type", "application/json"}}, "{}"};
    return HttpResponse{200,
                        {{"content-type", "application/json"}},
                        R"({"offset":null,"limit":300,"total":0,"data":[],"cursor":null})"};
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void refuse_token(bool refuse) {  // 401 to every request, as after a token is revoked
    std::lock_guard lock(mu_);
    refuse_ = refuse;
  }

 private:
  std::mutex mu_;
  int requests_ = 0;
  bool refuse_ = false;
};

// The runs the scheduler reports, waited for as events (never on a timer: the bound only ends a
// broken test).
class Runs {
 public:
  void add() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool wait_for(int count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return count_ >= count; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

struct Syncing {
  postern::test::ScratchDir scratch{"postern-sync-now"};
  sync::FakeClock clock;
  EmptyKandji kandji;
  Runs runs;
  std::unique_ptr<control::Tailnet> tailnet;

  control::TailnetOptions options(std::chrono::seconds spacing) {
    control::TailnetOptions options;
    options.db = scratch.file("postern.db");
    options.policy_path = postern::test::sample("policy.hujson");
    options.tailnet_path = postern::test::sample("tailnet.json");
    options.clock = &clock;
    options.transport = &kandji;
    options.sync_jitter = 0s;
    options.sync_now_spacing = spacing;
    return options;
  }

  explicit Syncing(std::chrono::seconds spacing) {
    auto opened = control::Tailnet::open(options(spacing));
    REQUIRE(opened.ok());
    tailnet = std::move(opened.value());
    REQUIRE(tailnet->create_integration("kandji", "acme.api.kandji.io", "token-1234", kAlice).ok());
    tailnet->start_syncing([this](const control::SyncRun&) { runs.add(); });
    REQUIRE(runs.wait_for(1));  // a new integration syncs at once
  }
  ~Syncing() {
    if (tailnet) tailnet->stop_syncing();
  }

  std::int64_t now() const { return tailnet->now(); }
  sync::SyncStatus status() const { return tailnet->integration("kandji").value().status; }
};

TEST_CASE("sync now a moment after a run starts the spacing after that run and is stored as due",
          "[control][sync]") {
  Syncing s(30s);
  const auto ended = *s.status().last_attempt;
  s.clock.advance(5s);
  const auto answer = s.tailnet->sync_now("kandji");
  REQUIRE(answer.ok());
  CHECK_FALSE(answer.value().run.has_value());
  CHECK(answer.value().starts_at == ended + 30);
  CHECK(s.status().next_run == ended + 30);  // not the 15 minutes the last run planned
  // Asked again meanwhile: the same slot, not another run.
  s.clock.advance(5s);
  CHECK(s.tailnet->sync_now("kandji").value().starts_at == ended + 30);
  CHECK(s.runs.count() == 1);
  CHECK(s.status().sync_requests == 2);  // what a run in flight on another replica would see

  s.clock.advance(20s);  // the slot has come
  REQUIRE(s.runs.wait_for(2));
  CHECK(*s.status().last_attempt >= ended + 30);
  CHECK(s.kandji.requests() == 2);
}

// Found by a review: on SQLite the request lived only in the scheduler's memory, so a stop before
// the run lost it (the next start waited for the 15-minute slot).
TEST_CASE("a sync now request outlives a restart of the server", "[control][sync]") {
  Syncing s(30s);
  const auto answer = s.tailnet->sync_now("kandji");
  REQUIRE(answer.ok());
  s.tailnet->stop_syncing();
  s.tailnet.reset();
  auto reopened = control::Tailnet::open(s.options(30s));
  REQUIRE(reopened.ok());
  CHECK(reopened.value()->integration("kandji").value().status.next_run ==
        answer.value().starts_at);
}

// Found by a review: a server started with a shorter --sync-interval ran at that interval but
// showed the slot the longer one had stored.
TEST_CASE("the next run shown is the one this server's shorter interval plans", "[control][sync]") {
  Syncing s(30s);
  const auto attempt = *s.status().last_attempt;
  REQUIRE(s.status().next_run == attempt + 15 * 60);
  s.tailnet->stop_syncing();
  s.tailnet.reset();
  auto options = s.options(30s);
  options.sync_interval = 60s;
  auto reopened = control::Tailnet::open(options);
  REQUIRE(reopened.ok());
  s.tailnet = std::move(reopened.value());
  s.tailnet->start_syncing([&s](const control::SyncRun&) { s.runs.add(); });
  CHECK(s.status().next_run == attempt + 60);
  s.tailnet->stop_syncing();
  CHECK(s.status().next_run == attempt + 15 * 60);  // not scheduling here: the stored slot
}

TEST_CASE("sync now after the spacing has passed starts at once", "[control][sync]") {
  Syncing s(30s);
  s.clock.advance(31s);
  const auto answer = s.tailnet->sync_now("kandji");
  REQUIRE(answer.ok());
  CHECK(answer.value().starts_at == s.now());
  REQUIRE(s.runs.wait_for(2));
}

TEST_CASE("a spacing of zero starts every sync now at once", "[control][sync]") {
  Syncing s(0s);
  CHECK(s.tailnet->sync_now("kandji").value().starts_at == s.now());
  REQUIRE(s.runs.wait_for(2));
  CHECK(s.tailnet->sync_now("kandji").value().starts_at == s.now());
  REQUIRE(s.runs.wait_for(3));
}

// Makes every status write to the SQLite store at `db` fail as a full disk would, until undone: a
// trigger stored in the schema, which the server's own connection runs.
class FullDisk {
 public:
  explicit FullDisk(const std::filesystem::path& db) : db_(db) {
    run("CREATE TRIGGER full_disk BEFORE INSERT ON sync_status "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  }
  ~FullDisk() { run("DROP TRIGGER full_disk"); }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

 private:
  void run(const char* sql) {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(db_.c_str(), &handle) == SQLITE_OK);
    sqlite3_busy_timeout(handle, 10000);
    const int rc = sqlite3_exec(handle, sql, nullptr, nullptr, nullptr);
    INFO(sqlite3_errmsg(handle));
    sqlite3_close(handle);
    REQUIRE(rc == SQLITE_OK);
  }
  std::filesystem::path db_;
};

// Found by a durability review: a sync that failed because the disk was full showed only in the
// log and metrics; the status, kept in the store whose writes failed, still said "ok".
TEST_CASE("a sync failure the store cannot record still shows in the status", "[control][sync]") {
  Syncing s(0s);
  {
    FullDisk full(s.scratch.file("postern.db"));
    s.clock.advance(16min);  // the scheduled run
    REQUIRE(s.runs.wait_for(2));
    const auto view = s.tailnet->integration("kandji").value();
    CHECK(view.state == "failing");
    CHECK(view.status.last_error.find("database or disk is full") != std::string::npos);
    CHECK(view.status.last_attempt == s.now());
    CHECK(view.status.commits == 1);  // what the store holds: the first run's commit
    // The next run is planned an interval out, as after any failure: not due again at once,
    // which would call Kandji every second while the disk stays full.
    CHECK(view.status.next_run == s.now() + 15 * 60);
    // "Sync now" needs the store too: it says so rather than answering a run it cannot plan.
    CHECK_FALSE(s.tailnet->sync_now("kandji").ok());
  }
  s.clock.advance(16min);
  REQUIRE(s.runs.wait_for(3));
  const auto view = s.tailnet->integration("kandji").value();
  CHECK(view.state == "ok");
  CHECK(view.status.last_error.empty());
  CHECK(view.status.commits == 2);
}

// Found by a review: a configuration change (which stores "run now" and clears any pause) did not
// take effect while the process still laid an unsaved failure over the stored status; a pause
// kept only in memory could then not be cleared at all until a restart.
TEST_CASE("a configuration change after a failure the store could not record syncs at once",
          "[control][sync]") {
  Syncing s(0s);
  {
    FullDisk full(s.scratch.file("postern.db"));
    s.kandji.refuse_token(true);
    s.clock.advance(16min);  // the scheduled run: 401, a pause the store cannot keep
    REQUIRE(s.runs.wait_for(2));
    const auto paused = s.tailnet->integration("kandji").value();
    CHECK(paused.state == "paused");
    // Refused as paused, with how to resume, not as a store failure.
    const auto refused = s.tailnet->sync_now("kandji");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == postern::grammar::DiagCode::K840);
  }
  s.kandji.refuse_token(false);
  control::IntegrationChange change;
  change.token = "token-5678";
  REQUIRE(s.tailnet->update_integration("kandji", change, kAlice).ok());
  REQUIRE(s.runs.wait_for(3));  // at once, not after the pause or an interval
  const auto view = s.tailnet->integration("kandji").value();
  CHECK(view.state == "ok");
  CHECK_FALSE(view.status.paused_until.has_value());
}

}  // namespace sync_now_test
