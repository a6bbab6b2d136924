// Several `postern serve` processes on one PostgreSQL database (a throwaway cluster each test
// starts itself): changes on one replica reach the others' checks; a replica started later loads
// the current state and then follows; one audit log; PostgreSQL stopping and coming back; the
// sync lease holder killed with SIGKILL in the middle of a sync. The test waits on what each
// process announces on its output (a change followed from the store, a lost or regained
// connection, the lease, a sync, a simulator request answered), never on the clock.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "kandji_sim.hpp"
#include "postern/store/store.hpp"
#include "postgres_cluster.hpp"
#include "process.hpp"
#include "scratch.hpp"

namespace replicas_test {

namespace {

using nlohmann::json;
using postern::test::PostgresCluster;
using postern::test::Process;
using namespace std::chrono_literals;

constexpr const char* kKandjiToken = "kdj-replica-5c1e9a7b3d2f4e6a8b0c";

std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

struct Reply {
  int status = 0;
  json body;
};

// One `postern serve --db postgresql://...` replica, with a short lease and reconnect retry.
class Replica {
 public:
  Replica(const std::string& url, std::vector<std::string> extra = {})
      : process_(args(url, std::move(extra))), port_(process_.wait_listening(60s).value_or(0)) {
    INFO("stderr:\n" << process_.err());
    REQUIRE(port_ > 0);
  }

  // GET `path` with `token` as the bearer credential: the status alone.
  int status_with(const std::string& token, const std::string& path) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    auto r = c.Get(path.c_str(), httplib::Headers{{"Authorization", "Bearer " + token}});
    REQUIRE(r);
    return r->status;
  }
  Reply call(const std::string& method, const std::string& path, const json& body = nullptr) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    const std::string text = body.is_null() ? std::string() : body.dump();
    auto r = method == "POST"     ? c.Post(path.c_str(), text, "application/json")
             : method == "DELETE" ? c.Delete(path.c_str())
                                  : c.Get(path.c_str());
    REQUIRE(r);
    return Reply{r->status, json::parse(r->body, nullptr, false)};
  }
  std::string decision(const std::string& src, const std::string& dst) {
    auto r = call("POST", "/v1/check", {{"src", src}, {"dst", dst}});
    REQUIRE(r.status == 200);
    return r.body["decision"].get<std::string>();
  }
  json attributes(const std::string& device) {
    auto r = call("GET", "/v1/devices/" + device + "/attributes");
    REQUIRE(r.status == 200);
    return r.body["attributes"];
  }
  Process& process() { return process_; }
  bool logged(const std::string& text) const {
    return process_.err().find(text) != std::string::npos;
  }
  // Blocks until the log holds `text` `times` times (false after a minute, or if it exits).
  bool wait_logged(std::string_view text, std::size_t times = 1) {
    return process_.wait_for_stderr(text, times);
  }
  // Blocks until this replica has applied `count` attribute changes from the store's change log,
  // its own included (logged once live). Policy changes are not counted: the first replica on a
  // new database saves the policy file as a change of its own.
  bool wait_followed(std::size_t count) { return wait_logged(" (attributes)", count); }

 public:
  static std::vector<std::string> args(const std::string& url, std::vector<std::string> extra) {
    std::vector<std::string> a = {postern::test::binary("app/postern"),
                                  "serve",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--policy",
                                  sample("policy.hujson"),
                                  "--tailnet",
                                  sample("tailnet.json"),
                                  "--db",
                                  url,
                                  "--replica-retry-ms",
                                  "200",
                                  "--sync-now-spacing",
                                  "0",
                                  "--log-level",
                                  "debug"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

 private:
  Process process_;
  int port_ = 0;
};

std::unique_ptr<PostgresCluster> cluster_or_skip() {
  if (auto why = PostgresCluster::unavailable()) {
    WARN("skipped: " << *why);
    return nullptr;
  }
  return std::make_unique<PostgresCluster>();
}

const std::string kTier = "/v1/devices/carol-mbp/attributes/custom:tier";

}  // namespace

TEST_CASE("replicas: a change on one reaches every other, a late replica loads, then follows",
          "[app][replicas]") {
  auto cluster = cluster_or_skip();
  if (!cluster) return;
  const auto url = cluster->url(cluster->create_database());
  Replica a(url);
  Replica b(url);
  REQUIRE(b.decision("carol-mbp", "db-1:5432") == "deny");

  REQUIRE(a.call("POST", kTier, {{"value", "gold"}, {"comment", "on A"}}).status == 200);
  CHECK(a.decision("carol-mbp", "db-1:5432") == "accept");  // at once on the writer
  REQUIRE(b.wait_followed(1));
  CHECK(b.decision("carol-mbp", "db-1:5432") == "accept");
  CHECK(b.attributes("carol-mbp")["custom:tier"] == "gold");

  // Started while the others run: the current state at once, then every change.
  Replica c(url);
  CHECK(c.decision("carol-mbp", "db-1:5432") == "accept");
  REQUIRE(b.call("DELETE", kTier).status == 200);
  REQUIRE(a.wait_followed(2));
  INFO("A's log:\n" << a.process().err());
  CHECK(a.decision("carol-mbp", "db-1:5432") == "deny");
  REQUIRE(c.wait_followed(1));  // started after the first change
  CHECK(c.decision("carol-mbp", "db-1:5432") == "deny");
  CHECK_FALSE(c.attributes("carol-mbp").contains("custom:tier"));

  // One audit log: both writes, from two replicas.
  auto store = std::move(postern::store::open_store(url).value());
  const auto log = store->audit_log({{}, {}, "", "node:nCar0lMBP05", "", {}}).value();
  CHECK(log.size() == 2);
}

TEST_CASE("replicas: PostgreSQL stops: checks answer from memory, writes get 503, back: catch up",
          "[app][replicas]") {
  auto cluster = cluster_or_skip();
  if (!cluster) return;
  const auto url = cluster->url(cluster->create_database());
  Replica a(url);
  Replica b(url);

  cluster->stop();
  CHECK(a.decision("carol-mbp", "db-1:5432") == "deny");
  CHECK(b.decision("alice-mbp", "web-1:443") == "accept");
  const auto refused = a.call("POST", kTier, {{"value", "gold"}});
  CHECK(refused.status == 503);
  INFO(refused.body.dump());
  CHECK(refused.body["message"].get<std::string>().find("PostgreSQL") != std::string::npos);
  CHECK(a.attributes("carol-mbp").contains("custom:tier") == false);  // nothing half-applied
  CHECK(a.wait_logged("lost the database"));
  CHECK(a.wait_logged("warning answered 503 [K"));  // the operator sees the refused write

  cluster->start();
  // The first write after the restart succeeds (the writer's store renews the connection the
  // server closed); the other replica, whose listener was down meanwhile, gets it by notice or
  // by catching up after reconnecting.
  REQUIRE(b.call("POST", kTier, {{"value", "gold"}}).status == 200);
  REQUIRE(a.wait_followed(1));
  INFO("A's log:\n" << a.process().err() << "B's log:\n" << b.process().err());
  CHECK(a.decision("carol-mbp", "db-1:5432") == "accept");
  CHECK(a.wait_logged("reconnected to the database"));
  REQUIRE(a.call("DELETE", kTier).status == 200);
  REQUIRE(b.wait_followed(2));
  CHECK(b.decision("carol-mbp", "db-1:5432") == "deny");
}

TEST_CASE("replicas: PostgreSQL stops: keys read before still work and a revoked one on none",
          "[app][replicas]") {
  auto cluster = cluster_or_skip();
  if (!cluster) return;
  const auto url = cluster->url(cluster->create_database());
  const auto key = [&url] {
    const auto made = postern::test::run_process(
        {postern::test::binary("app/postern"), "keys", "create", "--db", url});
    REQUIRE(made.exit_code == 0);
    return made.out.substr(0, made.out.find('\n'));
  };
  const auto kept = key();
  const auto revoked = key();
  const auto unseen = key();
  Replica a(url);
  Replica b(url);
  const std::string path = "/v1/devices/carol-mbp/attributes";
  for (auto* replica : {&a, &b}) {
    CHECK(replica->status_with(kept, path) == 200);
    CHECK(replica->status_with(revoked, path) == 200);
  }
  const auto revoke =
      postern::test::run_process({postern::test::binary("app/postern"), "keys", "revoke",
                                  revoked.substr(10, revoked.rfind('-') - 10), "--db", url});
  INFO(revoke.out << revoke.err);
  REQUIRE(revoke.exit_code == 0);
  REQUIRE(a.wait_logged("(credential)"));
  REQUIRE(b.wait_logged("(credential)"));

  cluster->stop();
  INFO("A's log:\n" << a.process().err());
  for (auto* replica : {&a, &b}) {
    CHECK(replica->status_with(kept, path) == 200);
    // Forgotten when the revocation was followed: it cannot be checked now, never accepted.
    CHECK(replica->status_with(revoked, path) == 503);
    CHECK(replica->status_with(unseen, path) == 503);
  }
  cluster->start();
  CHECK(a.status_with(revoked, path) == 401);
  CHECK(b.status_with(unseen, path) == 200);
}

TEST_CASE("replicas: started together with one policy file they store it once", "[app][replicas]") {
  auto cluster = cluster_or_skip();
  if (!cluster) return;
  for (int round = 0; round < 3; ++round) {
    const auto url = cluster->url(cluster->create_database());
    std::vector<std::unique_ptr<Process>> replicas;
    for (int i = 0; i < 3; ++i)
      replicas.push_back(std::make_unique<Process>(Replica::args(url, {})));
    for (auto& replica : replicas) {
      INFO(replica->err());
      REQUIRE(replica->wait_listening(60s));
    }
    auto store = std::move(postern::store::open_store(url).value());
    INFO("round " << round);
    CHECK(store->policy_history(10).value().size() == 1);
    CHECK(store->audit_log({{}, {}, "", "policy", "", {}}).value().size() == 1);
  }
}

TEST_CASE("replicas: the lease holder killed mid-sync: another takes over, nothing half-written",
          "[app][replicas][sync]") {
  auto cluster = cluster_or_skip();
  if (!cluster) return;
  const auto url = cluster->url(cluster->create_database());
  postern::test::ScratchDir scratch("postern-replicas");
  postern::test::Simulator sim(
      scratch.path(),
      {"--devices", sample("kandji-devices.json"), "--page-size", "2", "--request-log", "-"},
      kKandjiToken);
  // Page 2 of the first sync hangs, so the holder is killed with page 1 fetched, nothing committed.
  sim.post("/_sim/faults", json{{"kind", "slow"}, {"page", 2}, {"delay_ms", 60000}}.dump());
  const auto added = postern::test::run_process(
      {postern::test::binary("app/postern"), "integrations", "add", "kandji", "--url", sim.url(),
       "--token-env", "REPLICA_TEST_TOKEN", "--db", url},
      {std::string("REPLICA_TEST_TOKEN=") + kKandjiToken});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);

  auto holder = std::make_unique<Replica>(url, std::vector<std::string>{"--sync"});
  REQUIRE(holder->wait_logged("holds the sync lease"));
  Replica standby(url, {"--sync"});
  INFO("holder's log:\n"
       << holder->process().err() << "\nsimulator requests: " << sim.get("/_sim/requests"));
  // The simulator logs a request once answered: page 1 logged means the holder is now waiting
  // on page 2, which the fault holds for a minute.
  REQUIRE(sim.process().wait_for_stdout("\"page\":1"));
  CHECK_FALSE(standby.logged("holds the sync lease"));
  holder->process().stop(SIGKILL);
  holder.reset();

  auto store = std::move(postern::store::open_store(url).value());
  // Nothing half-written: the holder's sync left nothing. The standby may already hold the lease
  // and have finished a whole sync of its own (the fault held page 2 once), so the attributes
  // are read first and the status after: without a success by then, none may be there; with
  // one, either none (read before its commit) or every device's (attributes and status commit
  // together).
  // Held in a variable: a range-for over `.value()` of a temporary would read freed memory.
  const auto loaded = store->load_attributes();
  REQUIRE(loaded);
  const auto integration = store->find_integration("kandji").value();
  REQUIRE(integration.has_value());
  const bool standby_synced = store->load_status(integration->id).value().last_success.has_value();
  std::size_t devices_with_kandji = 0;
  for (const auto& [device, attrs] : loaded.value()) {
    const bool mdm = attrs.count("kandji:mdmEnabled") != 0;
    const bool agent = attrs.count("kandji:agentInstalled") != 0;
    CHECK(mdm == agent);
    if (mdm) ++devices_with_kandji;
  }
  INFO("devices with kandji attributes: " << devices_with_kandji);
  if (!standby_synced) CHECK(devices_with_kandji == 0);
  if (standby_synced && devices_with_kandji > 0) CHECK(devices_with_kandji == 5);

  sim.del("/_sim/faults");
  CHECK(standby.wait_logged("holds the sync lease"));
  // The next sync completes on the new holder, which logs it once its changes are live.
  REQUIRE(standby.wait_logged(" matched, "));
  CHECK(store->load_status(integration->id).value().last_success.has_value());
  CHECK(standby.attributes("carol-mbp")["kandji:agentInstalled"] == false);
  CHECK(standby.decision("alice-mbp", "db-1:5432") == "accept");

  // A replica that does not sync asks the lease holder for a run through the store.
  Replica other(url);
  // Found by the last stop: the console said "Sync now is unavailable" on such a replica.
  const auto listed = other.call("GET", "/v1/integrations");
  CHECK(listed.body["sync"] == false);
  CHECK(listed.body["syncNow"] == true);
  const auto triggered = other.call("POST", "/v1/integrations/kandji/sync");
  CHECK(triggered.status == 202);
  REQUIRE(standby.wait_logged(" matched, ", 2));
}

}  // namespace replicas_test
