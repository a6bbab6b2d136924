// The SQLite store: schema, integrations, attribute writes, audit log, status, token files.
#include "postern/store/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "scratch.hpp"

namespace store_test {

using namespace postern;
using namespace postern::sync;

namespace {

std::unique_ptr<store::Store> open(const std::filesystem::path& path) {
  auto store = store::open_sqlite_store(path);
  REQUIRE(store.ok());
  return std::move(store.value());
}

Integration kandji(std::int64_t t = 1000) {
  return Integration{0, "kandji", "https://acme.api.kandji.io", 0, t, t, ""};
}

AuditEvent event(std::string action, std::int64_t t = 1000) {
  return AuditEvent{0, t, "admin:test", "integration:kandji", std::move(action), "{}", ""};
}

// The database file read and changed with SQLite's own API, not through the store: how an older
// version left it, and what an upgrade left.
void exec_on_file(const std::filesystem::path& db, const char* sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  const int rc = sqlite3_exec(raw, sql, nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  REQUIRE(rc == SQLITE_OK);
}

// The first column of the first row `sql` returns, as text ("" for NULL or no row).
std::string text_on_file(const std::filesystem::path& db, const char* sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(raw, sql, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return out;
}

int integer_on_file(const std::filesystem::path& db, const char* sql) {
  return std::stoi(text_on_file(db, sql));
}

}  // namespace

TEST_CASE("a new store is at the latest schema version, in WAL mode", "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "postern.db";
  { auto store = open(db); }
  auto scalar = [&db](const char* sql) { return text_on_file(db, sql); };
  CHECK(scalar("PRAGMA user_version") == "8");
  CHECK(scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_log' AND "
               "sql LIKE '%AUTOINCREMENT%'") == "0");
  CHECK(scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'attributes_source'") == "0");
  CHECK(scalar("SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND "
               "tbl_name = 'audit_log' AND sql IS NOT NULL") == "audit_log_time");
  CHECK(scalar("PRAGMA journal_mode") == "wal");
  // Reopening an up-to-date store migrates nothing; a newer schema is refused.
  exec_on_file(db, "PRAGMA user_version=99");
  auto newer = store::open_sqlite_store(db);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().message.find("newer") != std::string::npos);
}

TEST_CASE("an unopenable path is a store error", "[sync][store]") {
  auto store = store::open_sqlite_store("/nonexistent-dir/postern.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == SyncErrorKind::Store);
}

TEST_CASE("integrations: one per provider, updates bump the version and clear the pause",
          "[sync][store]") {
  test::ScratchDir dir;
  auto store = open(dir.path() / "p.db");
  auto created = store->create_integration(kandji(), event("Create posture integration"));
  REQUIRE(created.ok());
  CHECK(created.value().config_version == 1);
  auto status = store->load_status(created.value().id);
  REQUIRE(status.ok());
  CHECK(status.value().next_run == 1000);  // sync immediately after create

  auto twice = store->create_integration(kandji(), event("Create posture integration"));
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().kind == SyncErrorKind::Config);

  SyncStatus paused;
  paused.paused_until = 999'999;
  paused.next_run = 999'999;
  REQUIRE(store->save_status(created.value().id, paused).ok());
  Integration changed = created.value();
  changed.url = "https://acme.api.eu.kandji.io";
  changed.updated_at = 2000;
  auto updated = store->update_integration(changed, event("Update posture integration", 2000));
  REQUIRE(updated.ok());
  CHECK(updated.value().config_version == 2);
  CHECK(updated.value().url == "https://acme.api.eu.kandji.io");
  status = store->load_status(created.value().id);
  CHECK_FALSE(status.value().paused_until.has_value());
  CHECK(status.value().next_run == 2000);

  auto log = store->audit_log({});
  REQUIRE(log.ok());
  REQUIRE(log.value().size() == 2);  // the refused create logged nothing
  CHECK(log.value()[1].action == "Update posture integration");
  CHECK(store
            ->audit_log(store::AuditQuery{
                .since = 1500, .until = {}, .actor = {}, .target = {}, .action = {}, .limit = {}})
            .value()
            .size() == 1);
}

TEST_CASE("commit_sync is refused when the configuration changed meanwhile", "[sync][store]") {
  test::ScratchDir dir;
  auto store = open(dir.path() / "p.db");
  auto created = store->create_integration(kandji(), event("Create posture integration")).value();
  SyncCommit commit;
  commit.integration_id = created.id;
  commit.expected_config_version = created.config_version;
  commit.time = 1100;
  commit.writes.push_back(AttributeWrite{"n1", "kandji:mdmEnabled", AttrValue{true}, "kandji", {}});
  commit.events.push_back(
      AuditEvent{0, 1100, "integration:kandji", "node:n1", "Update node attribute", "{}", ""});
  commit.status.matched_count = 1;

  Integration changed = created;
  changed.updated_at = 1050;
  REQUIRE(store->update_integration(changed, event("Update posture integration", 1050)).ok());
  auto refused = store->commit_sync(commit);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == SyncErrorKind::Discarded);
  CHECK(store->load_attributes().value().empty());
  CHECK(store->audit_log({}).value().size() == 2);

  commit.expected_config_version = 2;
  REQUIRE(store->commit_sync(commit).ok());
  auto attrs = store->device_attributes("n1").value();
  REQUIRE(attrs.size() == 1);
  CHECK(std::get<bool>(attrs.at("kandji:mdmEnabled").value));
  CHECK(attrs.at("kandji:mdmEnabled").source == "kandji");
  CHECK(attrs.at("kandji:mdmEnabled").updated_at == 1100);
  CHECK(store->load_status(created.id).value().matched_count == 1);
}

TEST_CASE("attribute values keep their JSON type, expiries are stored", "[sync][store]") {
  test::ScratchDir dir;
  auto store = open(dir.path() / "p.db");
  std::vector<AttributeWrite> writes = {
      {"n1", "custom:tier", AttrValue{std::string("gold")}, "api", 1'900'000'000},
      {"n1", "custom:score", AttrValue{42.5}, "api", std::nullopt},
      {"n1", "custom:ok", AttrValue{false}, "api", std::nullopt}};
  REQUIRE(store->write_attributes(writes, {}).ok());
  auto attrs = store->device_attributes("n1").value();
  CHECK(std::get<std::string>(attrs.at("custom:tier").value) == "gold");
  CHECK(attrs.at("custom:tier").expires_at == 1'900'000'000);
  CHECK(std::get<double>(attrs.at("custom:score").value) == 42.5);
  CHECK_FALSE(std::get<bool>(attrs.at("custom:ok").value));
  REQUIRE(store->write_attributes({{"n1", "custom:ok", std::nullopt, "api", {}}}, {}).ok());
  CHECK(store->device_attributes("n1").value().count("custom:ok") == 0);
}

TEST_CASE("a second write of a key replaces value, source and expiry in place", "[sync][store]") {
  test::ScratchDir dir;
  auto store = open(dir.path() / "p.db");
  REQUIRE(store
              ->write_attributes(
                  {{"n1", "custom:tier", AttrValue{std::string("gold")}, "api", 1'900'000'000}}, {})
              .ok());
  REQUIRE(
      store->write_attributes({{"n1", "custom:tier", AttrValue{3.0}, "other", std::nullopt}}, {})
          .ok());
  const auto attrs = store->device_attributes("n1").value();
  REQUIRE(attrs.size() == 1);
  CHECK(std::get<double>(attrs.at("custom:tier").value) == 3.0);
  CHECK(attrs.at("custom:tier").source == "other");
  CHECK_FALSE(attrs.at("custom:tier").expires_at.has_value());
}

TEST_CASE("a version 4 store upgrades to 5: the unused source index goes, the data stays",
          "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "p.db";
  {
    auto store = open(db);
    REQUIRE(
        store
            ->write_attributes(
                {{"n1", "custom:tier", AttrValue{std::string("gold")}, "api", std::nullopt}}, {})
            .ok());
  }
  // Back to how version 4 left it.
  exec_on_file(db,
               "CREATE INDEX attributes_source ON attributes(source); "
               "ALTER TABLE integrations DROP COLUMN url_as_given;"
               "PRAGMA user_version=4;");
  auto store = open(db);
  CHECK(std::get<std::string>(store->device_attributes("n1").value().at("custom:tier").value) ==
        "gold");
  CHECK(integer_on_file(
            db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'attributes_source'") == 0);
  CHECK(integer_on_file(db, "PRAGMA user_version") == 8);
}

TEST_CASE(
    "a version 5 store upgrades to 6: the audit log's actor and target indexes go, the "
    "events stay",
    "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "p.db";
  {
    auto store = open(db);
    REQUIRE(store->write_attributes({}, {event("a", 100), event("b", 200)}).ok());
  }
  exec_on_file(db,
               "CREATE INDEX audit_log_actor ON audit_log(actor); "
               "CREATE INDEX audit_log_target ON audit_log(target); "
               "ALTER TABLE integrations DROP COLUMN url_as_given;"
               "PRAGMA user_version=5;");
  auto store = open(db);
  const auto log = store->audit_log(store::AuditQuery{.since = {},
                                                      .until = {},
                                                      .actor = "admin:test",
                                                      .target = "integration:kandji",
                                                      .action = {},
                                                      .limit = 1});
  REQUIRE(log.ok());
  REQUIRE(log.value().size() == 1);
  CHECK(log.value()[0].action == "b");
  CHECK(integer_on_file(db,
                        "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                        "('audit_log_actor', 'audit_log_target')") == 0);
  CHECK(integer_on_file(db, "PRAGMA user_version") == 8);
}

TEST_CASE(
    "a version 6 store upgrades to 7: the audit log keeps its rows and ids, new ids follow "
    "them, and no counter is kept for them",
    "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "p.db";
  {
    auto store = open(db);
    REQUIRE(store->write_attributes({}, {event("a", 100), event("b", 200), event("c", 300)}).ok());
  }
  // Back to how version 6 left it: AUTOINCREMENT ids, one of them skipped.
  exec_on_file(db,
               "ALTER TABLE audit_log RENAME TO audit_log_v7;"
               "CREATE TABLE audit_log(id INTEGER PRIMARY KEY AUTOINCREMENT,"
               "  time INTEGER NOT NULL, actor TEXT NOT NULL, target TEXT NOT NULL,"
               "  action TEXT NOT NULL, details TEXT NOT NULL,"
               "  origin TEXT NOT NULL DEFAULT '');"
               "INSERT INTO audit_log SELECT * FROM audit_log_v7;"
               "DROP TABLE audit_log_v7;"
               "UPDATE audit_log SET id = 7 WHERE action = 'c';"
               "CREATE INDEX audit_log_time ON audit_log(time);"
               "ALTER TABLE integrations DROP COLUMN url_as_given;"
               "PRAGMA user_version=6;");
  auto store = open(db);
  REQUIRE(store->write_attributes({}, {event("d", 400)}).ok());
  const auto log = store->audit_log({}).value();
  REQUIRE(log.size() == 4);
  CHECK(log[0].id == 1);
  CHECK(log[1].id == 2);
  CHECK(log[2].id == 7);
  CHECK(log[2].action == "c");
  CHECK(log[2].time == 300);
  CHECK(log[3].id == 8);  // after the newest, not in the gap
  CHECK(log[3].action == "d");
  CHECK(integer_on_file(db, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'audit_log'") == 0);
  CHECK(integer_on_file(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_log_time'") ==
        1);
  CHECK(integer_on_file(db, "PRAGMA user_version") == 8);
}

TEST_CASE("a version 7 store upgrades to 8: integrations stay, with no URL as written",
          "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "p.db";
  {
    auto store = open(db);
    REQUIRE(store->create_integration(kandji(), event("CREATE")).ok());
  }
  exec_on_file(db,
               "ALTER TABLE integrations DROP COLUMN url_as_given;"
               "PRAGMA user_version=7;");
  auto store = open(db);
  const auto found = store->find_integration("kandji").value();
  REQUIRE(found.has_value());
  CHECK(found->url == "https://acme.api.kandji.io");
  CHECK(found->url_as_given.empty());
  CHECK(integer_on_file(db, "PRAGMA user_version") == 8);
}

TEST_CASE("tokens live in an owner-only file next to the database", "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "postern.db";
  const std::string token = "3f1c9a7e-5b2d-4c8e-9a01-7d2e4b6a8f10";
  REQUIRE(store::write_token(db, "kandji", token + "\n").ok());
  struct stat st {};
  REQUIRE(::stat(store::token_path(db, "kandji").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((db.string() + ".secrets").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(store::read_token(db, "kandji").value() == token);
  { auto store = open(db); }
  // The database file itself never holds the token.
  std::ifstream in(db, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.find(token) == std::string::npos);
  REQUIRE(store::remove_token(db, "kandji").ok());
  CHECK_FALSE(store::read_token(db, "kandji").ok());
}

TEST_CASE("a v7 store opened by two processes at once migrates once", "[sync][store]") {
  // Found by an upgrade review: the version was read before the write lock, so the second opener
  // ran the v8 migration again ("duplicate column name: url_as_given"). Threads with connections
  // of their own stand in for the processes; each round races two first opens.
  test::ScratchDir dir;
  for (int round = 0; round < 12; ++round) {
    const auto db = dir.path() / ("race" + std::to_string(round) + ".db");
    {
      auto store = open(db);
      REQUIRE(store->create_integration(kandji(), event("CREATE")).ok());
    }
    exec_on_file(db,
                 "ALTER TABLE integrations DROP COLUMN url_as_given;"
                 "PRAGMA user_version=7;");
    std::array<std::string, 2> failures;
    std::array<std::thread, 2> openers;
    for (std::size_t i = 0; i < openers.size(); ++i) {
      openers[i] = std::thread([&failures, &db, i] {
        auto opened = store::open_sqlite_store(db);
        if (!opened) failures[i] = opened.error().message;
      });
    }
    for (auto& t : openers) t.join();
    CHECK(failures[0].empty());
    CHECK(failures[1].empty());
    CHECK(integer_on_file(db, "PRAGMA user_version") == 8);
  }
}

TEST_CASE("a staged token goes back when its change does not commit", "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "postern.db";
  REQUIRE(store::write_token(db, "kandji", "old-token").ok());
  {
    auto staged = store::StagedToken::stage(db, "kandji", "new-token", 3);
    REQUIRE(staged.ok());
    CHECK(store::read_token(db, "kandji").value() == "new-token");
  }  // destroyed without keep(): the transaction failed
  CHECK(store::read_token(db, "kandji").value() == "old-token");
  {
    auto staged = store::StagedToken::stage(db, "kandji", "new-token", 3);
    REQUIRE(staged.ok());
    staged.value().keep();
  }
  CHECK(store::read_token(db, "kandji").value() == "new-token");
  // A provider without a token before: rolled back, it has none again.
  { REQUIRE(store::StagedToken::stage(db, "jamf", "jamf-token", 0).ok()); }
  CHECK_FALSE(store::read_token(db, "jamf").ok());
  // Nothing is left beside the tokens.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(db.string() + ".secrets")) {
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("a crash between a token's staging and its commit is settled at the next open",
          "[sync][store]") {
  test::ScratchDir dir;
  const auto db = dir.path() / "postern.db";
  const auto secrets = std::filesystem::path(db.string() + ".secrets");
  {
    auto store = open(db);
    REQUIRE(store->create_integration(kandji(), event("CREATE"), {"old-token", std::nullopt}).ok());
  }
  const auto write_file = [](const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  SECTION("the change never committed: the row is still at the version set aside") {
    write_file(secrets / "kandji.token.before-v1", "old-token");
    write_file(secrets / "kandji.token", "new-token");
    write_file(secrets / "kandji.token.tmp-99-0", "half");
    auto store = open(db);
    CHECK(store->load_token("kandji").value() == "old-token");
  }
  SECTION("the change committed: the row moved past that version") {
    {
      auto store = open(db);
      auto found = store->find_integration("kandji").value().value();
      REQUIRE(store->update_integration(found, event("UPDATE")).ok());  // version 2
    }
    write_file(secrets / "kandji.token.before-v1", "old-token");
    write_file(secrets / "kandji.token", "new-token");
    auto store = open(db);
    CHECK(store->load_token("kandji").value() == "new-token");
  }
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(secrets)) ++files;
  CHECK(files == 1);
}

}  // namespace store_test
