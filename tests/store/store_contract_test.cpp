// The Store contract, run against every backend: SQLite always, PostgreSQL on a throwaway
// cluster this binary starts itself (skipped, with a warning, when PostgreSQL 15 is missing).
// Then what only the shared backend has: the change log, NOTIFY and the sync lease.
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "postern/store/replication.hpp"
#include "postern/store/store.hpp"
#include "postgres_cluster.hpp"
#include "process.hpp"
#include "scratch.hpp"

namespace store_contract_test {

using namespace postern;
using namespace postern::sync;
using namespace std::chrono_literals;

namespace {

// One cluster for the whole binary, started on first use and removed at exit.
test::PostgresCluster* cluster() {
  static std::unique_ptr<test::PostgresCluster> instance;
  static std::optional<std::string> why_not = test::PostgresCluster::unavailable();
  if (why_not) return nullptr;
  if (!instance) instance = std::make_unique<test::PostgresCluster>();
  return instance.get();
}

// A fresh, empty store of `backend`: a new SQLite file, or a new PostgreSQL database.
struct Backend {
  std::string name;
  test::ScratchDir dir{"postern-contract"};
  std::string db;  // what --db would say

  explicit Backend(std::string backend) : name(std::move(backend)) {
    if (name == "sqlite") {
      db = (dir.path() / "postern.db").string();
    } else if (auto* c = cluster()) {
      db = c->url(c->create_database());
    }
  }
  [[nodiscard]] bool available() const { return !db.empty(); }
  std::unique_ptr<store::Store> open() const {
    auto opened = store::open_store(db);
    INFO(name << ": " << (opened ? std::string() : opened.error().message));
    REQUIRE(opened.ok());
    return std::move(opened.value());
  }
};

// Every backend for a contract test; PostgreSQL is skipped loudly when it cannot run here.
#define FOR_EACH_BACKEND(var)                                                                   \
  Backend var(GENERATE(as<std::string>{}, "sqlite", "postgresql"));                             \
  if (!var.available()) {                                                                       \
    WARN("PostgreSQL contract skipped: " << test::PostgresCluster::unavailable().value_or("")); \
    return;                                                                                     \
  }                                                                                             \
  INFO("backend: " << var.name)

Integration kandji(std::int64_t t = 1000) {
  return Integration{0, "kandji", "https://acme.api.kandji.io", 0, t, t, ""};
}

AuditEvent event(std::string action, std::int64_t t = 1000, std::string actor = "admin:test",
                 std::string target = "integration:kandji") {
  return AuditEvent{0, t, std::move(actor), std::move(target), std::move(action), "{}", "CLI"};
}

AttributeWrite set(std::string device, std::string key, engine::AttrValue value,
                   std::optional<std::int64_t> expires = {}) {
  return AttributeWrite{std::move(device), std::move(key), std::move(value), "kandji", expires};
}

AttributeWrite erase(std::string device, std::string key) {
  return AttributeWrite{std::move(device), std::move(key), std::nullopt, "kandji", std::nullopt};
}

}  // namespace

TEST_CASE("contract: a new store is empty and reopening it migrates nothing", "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  {
    auto store = backend.open();
    CHECK(store->list_integrations().value().empty());
    CHECK_FALSE(store->current_policy().value().has_value());
    CHECK(store->audit_log({}).value().empty());
    CHECK(store->load_attributes().value().empty());
    REQUIRE(store->write_attributes({set("n1", "custom:a", true)}, {}).ok());
  }
  auto again = backend.open();
  CHECK(again->load_attributes().value().at("n1").count("custom:a") == 1);
}

TEST_CASE("contract: one integration per provider, updates bump the version, clear the pause",
          "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  auto created = store->create_integration(kandji(), event(std::string(kActionCreate)));
  REQUIRE(created.ok());
  CHECK(created.value().id > 0);
  CHECK(created.value().config_version == 1);
  CHECK(store->load_status(created.value().id).value().next_run == 1000);
  // The creation event names the id the store gave (spec kandji.md §3.8).
  const auto created_event = nlohmann::json::parse(store->audit_log({}).value().back().details);
  CHECK(created_event["integration_id"] == created.value().id);

  auto duplicate = store->create_integration(kandji(), event(std::string(kActionCreate)));
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().kind == SyncErrorKind::Config);

  SyncStatus paused;
  paused.paused_until = 99999;
  REQUIRE(store->save_status(created.value().id, paused).ok());
  Integration next = created.value();
  next.url = "https://other.api.kandji.io";
  next.updated_at = 2000;
  auto updated = store->update_integration(next, event(std::string(kActionUpdate), 2000));
  REQUIRE(updated.ok());
  CHECK(updated.value().config_version == 2);
  CHECK(updated.value().url == "https://other.api.kandji.io");
  const auto status = store->load_status(created.value().id).value();
  CHECK_FALSE(status.paused_until.has_value());
  CHECK(status.next_run == 2000);
  CHECK(store->find_integration("kandji").value()->url == next.url);
  CHECK_FALSE(store->find_integration("jamf").value().has_value());
  CHECK(store->audit_log({}).value().size() == 2);

  // The URL as the admin wrote it is kept beside the normalised one (decisions TA5).
  CHECK(store->find_integration("kandji").value()->url_as_given.empty());
  next.url_as_given = "HTTPS://Other.api.kandji.io:443/";
  REQUIRE(store->update_integration(next, event(std::string(kActionUpdate), 2000)).ok());
  CHECK(store->find_integration("kandji").value()->url_as_given == next.url_as_given);
  CHECK(store->list_integrations().value().at(0).url_as_given == next.url_as_given);
  CHECK(store->find_integration("kandji").value()->url == "https://other.api.kandji.io");

  REQUIRE(store->save_status(424242, SyncStatus{}).error().kind == SyncErrorKind::Discarded);
}

TEST_CASE("contract: a status edit changes what is stored now and nothing else",
          "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  const auto id = store->create_integration(kandji(), event(std::string(kActionCreate))).value().id;
  SyncStatus committed;
  committed.commits = 7;
  committed.matched_count = 42;
  committed.next_run = 5000;
  committed.sync_requests = 2;
  REQUIRE(store->save_status(id, committed).ok());
  auto edited = store->edit_status(id, [](SyncStatus& s) {
    CHECK(s.commits == 7);  // the edit sees what the last commit stored
    s.next_run = 1200;
  });
  REQUIRE(edited.ok());
  CHECK(edited.value().next_run == 1200);
  const auto stored = store->load_status(id).value();
  CHECK(stored.next_run == 1200);
  CHECK(stored.commits == 7);
  CHECK(stored.matched_count == 42);
  CHECK(stored.sync_requests == 2);
  CHECK(store->edit_status(424242, [](SyncStatus&) {}).error().kind == SyncErrorKind::Discarded);
}

TEST_CASE("contract: a sync commits everything or nothing", "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  const auto integration = store->create_integration(kandji(), event("create")).value();
  SyncCommit commit;
  commit.integration_id = integration.id;
  commit.expected_config_version = 1;
  commit.time = 3000;
  commit.writes = {set("n1", "kandji:encrypted", true), set("n2", "kandji:osVersion", "14.1")};
  commit.events = {event("sync n1", 3000, "integration:kandji", "node:n1"),
                   event("sync n2", 3000, "integration:kandji", "node:n2")};
  commit.status.last_success = 3000;
  commit.status.matched_count = 2;

  SECTION("the configuration changed meanwhile: nothing is written") {
    commit.expected_config_version = 7;
    auto refused = store->commit_sync(commit);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == SyncErrorKind::Discarded);
    CHECK(store->load_attributes().value().empty());
    CHECK(store->audit_log({}).value().size() == 1);
    CHECK_FALSE(store->load_status(integration.id).value().last_success.has_value());
  }
  SECTION("another sync committed since this one started: nothing is written") {
    SyncCommit other = commit;
    other.status.commits = 1;
    REQUIRE(store->commit_sync(other).ok());
    commit.events = {event("late sync", 3000, "integration:kandji", "node:n1")};
    commit.writes = {set("n1", "kandji:encrypted", false)};
    auto refused = store->commit_sync(commit);  // still expects 0 commits
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == SyncErrorKind::Discarded);
    CHECK(std::get<bool>(store->load_attributes().value().at("n1").at("kandji:encrypted").value));
    CHECK(store->audit_log({}).value().size() == 3);
  }
  SECTION("committed: writes, events and status together") {
    REQUIRE(store->commit_sync(commit).ok());
    const auto table = store->load_attributes().value();
    CHECK(std::get<bool>(table.at("n1").at("kandji:encrypted").value));
    CHECK(std::get<std::string>(table.at("n2").at("kandji:osVersion").value) == "14.1");
    CHECK(table.at("n2").at("kandji:osVersion").updated_at == 3000);
    const auto log = store->audit_log({}).value();
    REQUIRE(log.size() == 3);
    CHECK(log[1].action == "sync n1");  // oldest first, in the order given
    CHECK(log[2].action == "sync n2");
    CHECK(store->load_status(integration.id).value().matched_count == 2);
  }
  SECTION("the schedule stays as stored: a sync now may have changed it during the sync") {
    REQUIRE(store
                ->edit_status(integration.id,
                              [](SyncStatus& s) {
                                s.next_run = 2990;
                                s.sync_requests = 4;
                              })
                .ok());
    commit.status.next_run = 9000;  // what the sync read when it started
    commit.status.sync_requests = 3;
    REQUIRE(store->commit_sync(commit).ok());
    const auto stored = store->load_status(integration.id).value();
    CHECK(stored.next_run == 2990);
    CHECK(stored.sync_requests == 4);
    CHECK(stored.last_success == 3000);
  }
  SECTION("the integration was removed meanwhile") {
    REQUIRE(store->remove_integration(integration.id, {}, {event("remove")}).ok());
    CHECK(store->commit_sync(commit).error().kind == SyncErrorKind::Discarded);
    CHECK(store->load_attributes().value().empty());
  }
}

TEST_CASE("contract: attribute writes keep types and expiries, the last write of a batch wins",
          "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  REQUIRE(store
              ->write_attributes({set("n1", "custom:n", 3.5), set("n1", "custom:s", "gold", 777),
                                  set("n1", "custom:b", false), set("n1", "custom:gone", true),
                                  erase("n1", "custom:gone"), set("n1", "custom:twice", 1.0),
                                  set("n1", "custom:twice", 2.0)},
                                 {event("attrs", 1500, "api-key:k1", "node:n1")})
              .ok());
  const auto attrs = store->device_attributes("n1").value();
  CHECK(std::get<double>(attrs.at("custom:n").value) == 3.5);
  CHECK(std::get<std::string>(attrs.at("custom:s").value) == "gold");
  CHECK(attrs.at("custom:s").expires_at == 777);
  CHECK_FALSE(attrs.at("custom:n").expires_at.has_value());
  CHECK_FALSE(std::get<bool>(attrs.at("custom:b").value));
  CHECK(attrs.count("custom:gone") == 0);
  CHECK(std::get<double>(attrs.at("custom:twice").value) == 2.0);
  CHECK(attrs.at("custom:n").updated_at == 1500);
  CHECK(attrs.at("custom:n").source == "kandji");

  REQUIRE(store->write_attributes({erase("n1", "custom:n"), erase("n9", "custom:x")}, {}).ok());
  CHECK(store->device_attributes("n1").value().count("custom:n") == 0);
  CHECK(store->device_attributes("n9").value().empty());
}

TEST_CASE("contract: removing an integration deletes it, its status and the given writes",
          "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  const auto integration = store->create_integration(kandji(), event("create")).value();
  REQUIRE(
      store->write_attributes({set("n1", "kandji:x", true), set("n1", "custom:y", true)}, {}).ok());
  REQUIRE(store
              ->remove_integration(integration.id, {erase("n1", "kandji:x")},
                                   {event("removed"), event("removed attr")})
              .ok());
  CHECK(store->list_integrations().value().empty());
  CHECK(store->device_attributes("n1").value().size() == 1);
  CHECK(store->audit_log({}).value().size() == 3);
  // A new integration of the same provider starts over.
  CHECK(store->create_integration(kandji(), event("create")).ok());
}

TEST_CASE("contract: policy versions, conditional saves and history", "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  auto version = [](std::string text, std::int64_t t) {
    return store::PolicyVersion{0, t, "admin:test", "CLI", std::move(text)};
  };
  auto first = store->save_policy(version("// one\n{}", 10), event("policy", 10), 0);
  REQUIRE(first.ok());
  auto stale = store->save_policy(version("{}", 11), event("policy", 11), 0);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == SyncErrorKind::Discarded);
  auto second =
      store->save_policy(version("{\"acls\":[]}", 12), event("policy", 12), first.value().id);
  REQUIRE(second.ok());
  CHECK(second.value().id > first.value().id);
  auto third = store->save_policy(version("{ }", 13), event("policy", 13), std::nullopt);
  REQUIRE(third.ok());
  CHECK(store->current_policy().value()->text == "{ }");
  const auto history = store->policy_history(2).value();
  REQUIRE(history.size() == 2);
  CHECK(history[0].id == third.value().id);
  CHECK(history[1].text == "{\"acls\":[]}");
  CHECK(store->policy_history(10).value().back().text == "// one\n{}");
  CHECK(store->audit_log({}).value().size() == 3);
  // The newest version of one origin: what the served policy file last said.
  CHECK_FALSE(store->last_policy_from("FILE").value().has_value());
  auto from_file = version("// file\n{}", 14);
  from_file.origin = "FILE";
  REQUIRE(store->save_policy(from_file, event("policy", 14), std::nullopt).ok());
  REQUIRE(store->save_policy(version("// api\n{}", 15), event("policy", 15), std::nullopt).ok());
  const auto last_file = store->last_policy_from("FILE").value();
  REQUIRE(last_file.has_value());
  CHECK(last_file->text == "// file\n{}");
  CHECK(store->last_policy_from("CLI").value()->text == "// api\n{}");
}

TEST_CASE(
    "contract: audit queries filter by time, actor, target and action, limit keeps the "
    "newest",
    "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  REQUIRE(store
              ->write_attributes({}, {event("a", 100, "admin:alice", "node:n1"),
                                      event("b", 200, "admin:bob", "node:n1"),
                                      event("a", 300, "admin:alice", "node:n2"),
                                      event("c", 400, "admin:bob", "policy")})
              .ok());
  auto actions = [&](const store::AuditQuery& q) {
    std::string out;
    const auto log = store->audit_log(q).value();
    for (const auto& e : log) out += e.action + std::to_string(e.time) + " ";
    return out;
  };
  CHECK(actions({}) == "a100 b200 a300 c400 ");
  CHECK(actions({200, 400, "", "", "", {}}) == "b200 a300 ");
  CHECK(actions({{}, {}, "admin:alice", "", "", {}}) == "a100 a300 ");
  CHECK(actions({{}, {}, "", "node:n1", "", {}}) == "a100 b200 ");
  CHECK(actions({{}, {}, "", "", "c", {}}) == "c400 ");
  CHECK(actions({{}, {}, "", "", "", 2}) == "a300 c400 ");
  // Filters and a limit together, with and without a time range: the newest matching events.
  CHECK(actions({{}, {}, "admin:bob", "", "", 1}) == "c400 ");
  CHECK(actions({{}, {}, "", "node:n1", "a", 5}) == "a100 ");
  CHECK(actions({100, 400, "admin:alice", "", "", 1}) == "a300 ");
  CHECK(actions({{}, 300, "", "", "", 1}) == "b200 ");
  CHECK(actions({300, {}, "", "", "", {}}) == "a300 c400 ");
  const auto log = store->audit_log({}).value();
  CHECK(log.front().origin == "CLI");
  CHECK(log.front().details == "{}");
  CHECK(log.front().id < log.back().id);
}

TEST_CASE("contract: tokens are kept apart and read only through the token functions",
          "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  const std::string token = "tok-3f9a1c77e2d84b6a";
  CHECK(store->load_token("kandji").error().kind == SyncErrorKind::Config);
  REQUIRE(store->save_token("kandji", token).ok());
  CHECK(store->load_token("kandji").value() == token);
  REQUIRE(store->save_token("kandji", token + "-rotated").ok());
  CHECK(store->load_token("kandji").value() == token + "-rotated");
  // Nothing the status or the API reads carries it.
  REQUIRE(store->create_integration(kandji(), event("create")).ok());
  const auto log = store->audit_log({}).value();
  for (const auto& e : log) {
    CHECK(e.details.find(token) == std::string::npos);
  }
  REQUIRE(store->delete_token("kandji").ok());
  CHECK_FALSE(store->load_token("kandji").ok());
  CHECK(store->delete_token("kandji").ok());  // idempotent
}

TEST_CASE("contract: a token is written with its integration change or not at all",
          "[store][contract]") {
  // Found by an upgrade review: the token was saved before, and apart from, the change that
  // carried it, so a change that failed (a full disk) or lost a race left the new token beside
  // the old URL, and the next sync sent it there.
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  const auto created =
      store->create_integration(kandji(), event("create"), {"token-for-acme", std::nullopt});
  REQUIRE(created.ok());
  CHECK(store->load_token("kandji").value() == "token-for-acme");

  // Decided on version 1; another change moves it to 2 first.
  Integration other = created.value();
  other.url = "https://globex.api.kandji.io";
  REQUIRE(store->update_integration(other, event("update"), {"token-for-globex", 1}).ok());
  Integration late = created.value();
  late.url = "https://initech.api.kandji.io";
  const auto refused = store->update_integration(late, event("update"), {"token-for-initech", 1});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == SyncErrorKind::Discarded);
  CHECK(store->find_integration("kandji").value()->url == "https://globex.api.kandji.io");
  CHECK(store->load_token("kandji").value() == "token-for-globex");
  CHECK(store->audit_log({}).value().size() == 2);

  // No token in the change: the stored one stays.
  REQUIRE(store->update_integration(other, event("update"), {std::nullopt, 2}).ok());
  CHECK(store->load_token("kandji").value() == "token-for-globex");
}

TEST_CASE(
    "contract: API credentials are found, listed, revoked with their children, touched "
    "and purged",
    "[store][contract]") {
  FOR_EACH_BACKEND(backend);
  auto store = backend.open();
  store::ApiCredential client{"c1", "oauth-client", "aa",         "ci",        "devices:core", "",
                              10,   std::nullopt,   std::nullopt, std::nullopt};
  store::ApiCredential token{"t1", "oauth-token", "bb",        "", "devices:core", "c1", 11,
                             50,   std::nullopt,  std::nullopt};
  store::ApiCredential key{"k1", "api-key", "cc", "ops",        "all",
                           "",   12,        9999, std::nullopt, std::nullopt};
  REQUIRE(store->create_credential(client, {event("create client")}).ok());
  REQUIRE(store->create_credential(token, {}).ok());
  REQUIRE(store->create_credential(key, {event("create key")}).ok());
  CHECK(store->create_credential(key, {}).error().kind == SyncErrorKind::Config);
  const auto found = store->find_credential("k1").value();
  REQUIRE(found.has_value());
  CHECK(found->secret_hash == "cc");
  CHECK(found->expires_at == 9999);
  CHECK_FALSE(store->find_credential("nope").value().has_value());
  CHECK(store->list_credentials().value().size() == 3);
  // Live tokens per client: expired (at 50) and revoked ones do not count.
  CHECK(store->live_tokens("c1", 49).value().count == 1);
  CHECK(store->live_tokens("c1", 49).value().first_expiry == 50);
  CHECK(store->live_tokens("c1", 50).value().count == 0);  // expired at its expiry, as refused
  CHECK_FALSE(store->live_tokens("c1", 50).value().first_expiry.has_value());
  CHECK(store->live_tokens("k1", 0).value().count == 0);

  REQUIRE(store->touch_credential("k1", 40).ok());
  CHECK(store->find_credential("k1").value()->last_used_at == 40);
  CHECK(store->revoke_credential("c1", 60, event("revoke")).value());
  CHECK_FALSE(store->revoke_credential("c1", 61, event("revoke")).value());
  CHECK(store->find_credential("t1").value()->revoked_at == 60);
  CHECK(store->live_tokens("c1", 49).value().count == 0);
  CHECK_FALSE(store->find_credential("k1").value()->revoked_at.has_value());
  REQUIRE(store->purge_expired_tokens(100).ok());
  CHECK_FALSE(store->find_credential("t1").value().has_value());
  CHECK(store->find_credential("k1").value().has_value());  // api keys are never purged
  CHECK(store->audit_log({}).value().size() == 3);
}

// ---- what only the shared (PostgreSQL) backend has ----

// The shared cluster as `var`; a test that needs it is skipped loudly when it cannot run here.
#define POSTGRES_CLUSTER_OR_SKIP(var)                                       \
  test::PostgresCluster* var##_or_null = cluster();                         \
  if (var##_or_null == nullptr) {                                           \
    WARN("skipped: " << test::PostgresCluster::unavailable().value_or("")); \
    return;                                                                 \
  }                                                                         \
  test::PostgresCluster& var = *var##_or_null

TEST_CASE("postgres: every change is logged with gapless ids, announced to listeners",
          "[store][postgres]") {
  POSTGRES_CLUSTER_OR_SKIP(c);
  const auto url = c.url(c.create_database());
  auto listener = store::make_change_listener(url);
  REQUIRE(listener->listen().ok());
  auto a = std::move(store::open_store(url).value());
  auto b = std::move(store::open_store(url).value());
  CHECK(a->shared());
  CHECK(a->replica_id() != b->replica_id());
  CHECK(a->change_position().value() == 0);

  REQUIRE(a->write_attributes({set("n1", "custom:x", true)}, {}).ok());
  REQUIRE(b->save_policy({0, 5, "admin:t", "CLI", "{}"}, event("policy"), std::nullopt).ok());
  REQUIRE(b->create_integration(kandji(), event("create")).ok());
  REQUIRE(a->write_attributes({}, {event("audit only")}).ok());  // no change: nothing logged

  std::vector<store::ChangeNotice> notices;
  for (int i = 0; i < 50 && notices.size() < 3; ++i) {
    auto got = listener->wait(100ms);
    REQUIRE(got.ok());
    notices.insert(notices.end(), got.value().begin(), got.value().end());
  }
  REQUIRE(notices.size() == 3);
  CHECK(notices[0].id == 1);
  CHECK(notices[0].kind == "attributes");
  CHECK(notices[0].origin == a->replica_id());
  CHECK(notices[1].kind == "policy");
  CHECK(notices[2].kind == "integration");

  const auto changes = b->changes_after(1, 100).value();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].id == 2);
  CHECK(changes[0].payload.find("\"text\":\"{}\"") != std::string::npos);
  CHECK(a->change_position().value() == 3);
  CHECK(a->changes_after(0, 1).value().size() == 1);
  // A's audit log is B's: one log.
  CHECK(b->audit_log({}).value().size() == 3);
}

TEST_CASE("postgres: a failed transaction logs no change", "[store][postgres]") {
  POSTGRES_CLUSTER_OR_SKIP(c);
  auto store = std::move(store::open_store(c.url(c.create_database())).value());
  const auto integration = store->create_integration(kandji(), event("create")).value();
  SyncCommit commit{integration.id, 99, 10, {set("n1", "kandji:x", true)}, {}, {}, 0};
  REQUIRE_FALSE(store->commit_sync(commit).ok());
  CHECK(store->change_position().value() == 1);  // the create only
}

TEST_CASE("postgres: the first read and write after the server restarts succeed",
          "[store][postgres]") {
  POSTGRES_CLUSTER_OR_SKIP(c);
  auto store = std::move(store::open_store(c.url(c.create_database())).value());
  REQUIRE(store->write_attributes({set("n1", "custom:x", true)}, {}).ok());
  // The store's connection was idle through the restart: the server closed it, which the
  // client learns only on its next statement.
  c.stop();
  c.start();
  const auto read = store->change_position();
  INFO((read ? std::string() : read.error().message));
  CHECK(read.ok());
  c.stop();
  c.start();
  const auto written = store->write_attributes({set("n1", "custom:x", false)}, {});
  INFO((written ? std::string() : written.error().message));
  REQUIRE(written.ok());
  CHECK(store->change_position().value() == 2);  // written once, not twice
}

TEST_CASE("postgres: exactly one holder of the sync lease, it passes on when the holder goes",
          "[store][postgres]") {
  POSTGRES_CLUSTER_OR_SKIP(c);
  const auto url = c.url(c.create_database());
  auto first = store::make_sync_lease(url);
  auto second = store::make_sync_lease(url);
  CHECK(first->try_acquire().value());
  CHECK(first->try_acquire().value());  // re-entrant for its holder
  CHECK_FALSE(second->try_acquire().value());
  CHECK(first->still_held());
  CHECK_FALSE(second->still_held());
  first->release();
  CHECK(second->try_acquire().value());
  CHECK_FALSE(first->try_acquire().value());
}

TEST_CASE(
    "postgres: a store migrates once even when replicas start together, newer schemas "
    "are refused",
    "[store][postgres]") {
  POSTGRES_CLUSTER_OR_SKIP(c);
  const auto url = c.url(c.create_database());
  std::vector<std::thread> starters;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      if (store::open_store(url).ok()) ++opened;
    });
  }
  for (auto& t : starters) t.join();
  CHECK(opened == 4);
  auto raw = test::run_process({"/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-d", url, "-c",
                                "UPDATE schema_version SET version = 999"});
  REQUIRE(raw.exit_code == 0);
  auto newer = store::open_store(url);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().message.find("newer") != std::string::npos);
}

TEST_CASE("postgres: an unreachable server is a clear store error without the password",
          "[store][postgres]") {
  auto opened = store::open_store(
      "postgresql://postern:s3cretpw@/postern?host=/nonexistent-socket-dir&connect_timeout=2");
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == SyncErrorKind::Store);
  CHECK(opened.error().message.find("cannot connect to PostgreSQL") != std::string::npos);
  CHECK(opened.error().message.find("s3cretpw") == std::string::npos);
}

TEST_CASE("postgres: a URL libpq cannot parse is refused without its password",
          "[store][postgres]") {
  // libpq quotes the whole URL, or the token it choked on, in these messages.
  for (const std::string url :
       {"postgresql://postern:S3cretPw!xyz@[::1:55432/postern",
        "postgresql://postern:S3cretPw%zz@127.0.0.1:55432/postern",
        "postgresql://postern:pa/ss@wd-long@127.0.0.1:1/postern?connect_timeout=x",
        "postgresql://postern@127.0.0.1:1/postern?password=S3cretPw%zz&sslmode=nonsense"}) {
    INFO(url);
    auto opened = store::open_store(url);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().message.find("S3cretPw") == std::string::npos);
    CHECK(opened.error().message.find("pa/ss") == std::string::npos);
    CHECK(opened.error().message.find("wd-long") == std::string::npos);
  }
  // A password too short to cut out leaves no message of libpq's at all.
  auto short_secret = store::open_store("postgresql://postern:p%@127.0.0.1:1/postern");
  REQUIRE_FALSE(short_secret.ok());
  CHECK(short_secret.error().message.find("p%") == std::string::npos);
}

}  // namespace store_contract_test
