// The SQLite Store: WAL journal, one transaction per mutating call, schema versioned through
// PRAGMA user_version with forward-only migrations.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "postern/store/store.hpp"
#include "status_json.hpp"
#include "store_failures.hpp"
#include "wal_checkpointer.hpp"
#include "wal_frame_vfs.hpp"

namespace postern::store {
namespace {

using sync::SyncError;
using sync::SyncErrorKind;

using nlohmann::json;

// Internal only: converted to SyncError before leaving this file.
struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
using detail::changed_meanwhile;
using detail::ConfigFailure;
using detail::DiscardedFailure;

// Each entry upgrades the schema by one version; never edit a shipped entry, append a new one.
constexpr const char* kMigrations[] = {
    // v1
    "CREATE TABLE integrations("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  provider TEXT NOT NULL UNIQUE,"
    "  url TEXT NOT NULL,"
    "  config_version INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE attributes("
    "  device TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  expires_at INTEGER,"
    "  PRIMARY KEY(device, key)) WITHOUT ROWID;"
    "CREATE TABLE audit_log("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  details TEXT NOT NULL);"
    "CREATE TABLE sync_status("
    "  integration_id INTEGER PRIMARY KEY,"
    "  data TEXT NOT NULL);",
    // v2: `postern audit --since` and attribute clean-up by source.
    "CREATE INDEX audit_log_time ON audit_log(time);"
    "CREATE INDEX attributes_source ON attributes(source);",
    // v3: the policy file and its history; where an audit event came from.
    "CREATE TABLE policy_versions("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  text TEXT NOT NULL);"
    "ALTER TABLE audit_log ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX audit_log_actor ON audit_log(actor);"
    "CREATE INDEX audit_log_target ON audit_log(target);",
    // v4: API credentials (access keys, OAuth clients and their tokens), secrets as hashes only.
    "CREATE TABLE api_credentials("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  secret_hash TEXT NOT NULL,"
    "  description TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  parent TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER,"
    "  revoked_at INTEGER,"
    "  last_used_at INTEGER);"
    "CREATE INDEX api_credentials_parent ON api_credentials(parent);",
    // v5: no query ever used attributes_source (removing an integration deletes its writes by
    // device and key), and every attribute write paid for it with another random index page.
    "DROP INDEX IF EXISTS attributes_source;",
    // v6: the audit query never used these (its filters are written so that an empty one matches
    // everything, which no index serves), and every audit row paid for them: the target index with
    // another random page per attribute write.
    "DROP INDEX IF EXISTS audit_log_actor;"
    "DROP INDEX IF EXISTS audit_log_target;",
    // v7: the audit log's ids without AUTOINCREMENT, which read and rewrote its counter in
    // sqlite_sequence for every row. Rows are never deleted, so max(id) + 1 is as new an id as the
    // counter gave; the table is rebuilt with its rows and ids as they were.
    "CREATE TABLE audit_log_v7("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  details TEXT NOT NULL,"
    "  origin TEXT NOT NULL DEFAULT '');"
    "INSERT INTO audit_log_v7(id, time, actor, target, action, details, origin)"
    "  SELECT id, time, actor, target, action, details, origin FROM audit_log ORDER BY id;"
    "DROP TABLE audit_log;"
    "ALTER TABLE audit_log_v7 RENAME TO audit_log;"
    "CREATE INDEX audit_log_time ON audit_log(time);"
    "DELETE FROM sqlite_sequence WHERE name = 'audit_log';",
    // v8: the integration URL as the admin wrote it, which the API gives back as `cloudId`.
    "ALTER TABLE integrations ADD COLUMN url_as_given TEXT NOT NULL DEFAULT '';",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw StoreFailure(std::string("cannot prepare statement: ") + sqlite3_errmsg(db));
    }
  }
  // Borrows a statement the store keeps prepared (see SqliteStore::prepared); reset on return.
  Statement(sqlite3* db, sqlite3_stmt* prepared) : db_(db), stmt_(prepared), borrowed_(true) {}
  ~Statement() {
    if (borrowed_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  // Binds without SQLite's copy (a malloc and a free per text on the commit path): only for text
  // that outlives the statement's run; the bindings are cleared when the statement is reset.
  Statement& bind_kept(int index, std::string_view text) {
    check(
        sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& bind(int index, std::optional<std::int64_t> value) {
    check(value ? sqlite3_bind_int64(stmt_, index, *value) : sqlite3_bind_null(stmt_, index));
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreFailure(std::string("database error: ") + sqlite3_errmsg(db_));
  }
  void run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::optional<std::int64_t> maybe_integer(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, col);
  }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw StoreFailure(std::string("bind failed: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool borrowed_ = false;
};

// The audit read's text. Without a time range the log is read backwards by id and the read stops
// at `limit` (`+time` keeps the planner off the time index, which would read and sort every
// row); with one, the time index finds the range. Static: the store keeps statements prepared by
// their text's address.
const std::string& audit_query_sql(bool timed) {
  static const std::string filters =
      " AND (? = '' OR actor = ?) AND (? = '' OR target = ?) AND (? = '' OR action = ?)"
      " ORDER BY id DESC LIMIT ?";
  static const std::string select =
      "SELECT id, time, actor, target, action, details, origin FROM audit_log WHERE ";
  static const std::string by_time = select + "time >= ? AND time < ?" + filters;
  static const std::string by_id = select + "+time >= ? AND +time < ?" + filters;
  return timed ? by_time : by_id;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  ~SqliteStore() override {
    checkpointer_.reset();  // first: the last connection to close checkpoints what is left
    for (const auto& [sql, statement] : prepared_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void migrate() {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    // 64 MiB of page cache instead of SQLite's 2 MB: once the audit log's indexes outgrew the
    // default, each attribute write re-read and re-wrote index pages (bench/README.md).
    exec("PRAGMA cache_size=-65536");
    exec("PRAGMA foreign_keys=ON");
    int version = schema_version();
    refuse_newer_schema(version);
    while (version < kSchemaVersion) {
      Transaction tx(*this);
      // Read again under the write lock: another process opening the same file may have
      // migrated since (two first starts after an upgrade ran a migration twice).
      version = schema_version();
      refuse_newer_schema(version);
      if (version == kSchemaVersion) break;
      exec(kMigrations[version]);
      exec(("PRAGMA user_version=" + std::to_string(version + 1)).c_str());
      tx.commit();
      ++version;
    }
    settle_tokens();
    checkpointer_ = std::make_unique<WalCheckpointer>(db_, path_);
  }

  int schema_version() {
    Statement st(db_, "PRAGMA user_version");
    return st.step() ? static_cast<int>(st.integer(0)) : 0;
  }

  static void refuse_newer_schema(int version) {
    if (version > kSchemaVersion) {
      throw StoreFailure("the database schema (version " + std::to_string(version) +
                         ") is newer than this postern supports (" +
                         std::to_string(kSchemaVersion) + ")");
    }
  }

  // Under the write lock, so that no other process is between a token's staging and its commit.
  void settle_tokens() {
    if (!has_staged_tokens(path_)) return;  // the usual open: no write lock taken
    Transaction tx(*this);
    settle_staged_tokens(path_, [this](std::string_view provider) -> std::optional<std::int64_t> {
      auto found = find_locked(std::string(provider));
      if (!found) return std::nullopt;
      return found->config_version;
    });
    tx.commit();
  }

  // The change's token staged in the open transaction (kept once it commits), if it has one.
  std::optional<StagedToken> stage_token(const std::string& provider, const IntegrationWrite& write,
                                         std::int64_t version_before) {
    if (!write.token) return std::nullopt;
    auto staged = StagedToken::stage(path_, provider, *write.token, version_before);
    if (!staged) throw StoreFailure(staged.error().message);
    return std::optional<StagedToken>(std::move(staged.value()));
  }

  Result<std::vector<Integration>> list_integrations() override {
    return guard([&] {
      std::vector<Integration> out;
      Statement st(db_,
                   "SELECT id, provider, url, config_version, created_at, updated_at, "
                   "url_as_given FROM integrations ORDER BY provider");
      while (st.step()) out.push_back(read_integration(st));
      return out;
    });
  }

  Result<std::optional<Integration>> find_integration(std::string_view provider) override {
    return guard([&] { return find_locked(provider); });
  }

  Result<Integration> create_integration(Integration integration, AuditEvent event,
                                         const IntegrationWrite& write) override {
    return guard([&] {
      Transaction tx(*this);
      if (find_locked(integration.provider)) {
        throw ConfigFailure("a `" + integration.provider + "` integration already exists");
      }
      auto token = stage_token(integration.provider, write, 0);
      Statement st(db_,
                   "INSERT INTO integrations(provider, url, config_version, created_at, "
                   "updated_at, url_as_given) VALUES(?, ?, 1, ?, ?, ?)");
      st.bind(1, integration.provider).bind(2, integration.url);
      st.bind(3, integration.created_at).bind(4, integration.updated_at);
      st.bind(5, integration.url_as_given).run();
      integration.id = sqlite3_last_insert_rowid(db_);
      integration.config_version = 1;
      SyncStatus status;
      status.next_run = integration.created_at;  // sync right away
      put_status(integration.id, status);
      event.target = event.target.empty() ? "integration:" + integration.provider : event.target;
      event.details = with_integration_id(event.details, integration.id);
      insert_event(event);
      tx.commit();
      if (token) token->keep();
      return integration;
    });
  }

  Result<Integration> update_integration(const Integration& integration, AuditEvent event,
                                         const IntegrationWrite& write) override {
    return guard([&] {
      Transaction tx(*this);
      const auto before = find_locked(integration.provider);
      if (!before || before->id != integration.id) {
        throw ConfigFailure("the integration no longer exists");
      }
      if (write.read_version && *write.read_version != before->config_version) {
        throw DiscardedFailure(changed_meanwhile(integration.provider));
      }
      auto token = stage_token(integration.provider, write, before->config_version);
      Statement st(db_,
                   "UPDATE integrations SET url = ?, config_version = config_version + 1, "
                   "updated_at = ?, url_as_given = ? WHERE id = ?");
      st.bind(1, integration.url).bind(2, integration.updated_at);
      st.bind(3, integration.url_as_given).bind(4, integration.id).run();
      SyncStatus status = get_status(integration.id);
      status.paused_until.reset();  // a configuration change clears an auth pause
      status.next_run = integration.updated_at;
      put_status(integration.id, status);
      insert_event(event);
      auto updated = find_locked(integration.provider);
      if (!updated) throw ConfigFailure("the integration no longer exists");
      tx.commit();
      if (token) token->keep();
      return *updated;
    });
  }

  Status remove_integration(std::int64_t id, const std::vector<AttributeWrite>& writes,
                            const std::vector<AuditEvent>& events) override {
    return guard([&] {
      Transaction tx(*this);
      Statement st(db_, "DELETE FROM integrations WHERE id = ?");
      st.bind(1, id).run();
      Statement status(db_, "DELETE FROM sync_status WHERE integration_id = ?");
      status.bind(1, id).run();
      apply_writes(writes, 0);
      for (const auto& e : events) insert_event(e);
      tx.commit();
      return std::monostate{};
    });
  }

  Result<std::int64_t> outside_commits() override {
    return guard([&] {
      Statement st(db_, "PRAGMA data_version");
      return st.step() ? st.integer(0) : std::int64_t{0};
    });
  }

  Result<AttributeTable> load_attributes() override {
    return guard([&] {
      AttributeTable table;
      Statement st(db_,
                   "SELECT device, key, value, source, updated_at, expires_at FROM attributes");
      while (st.step()) {
        auto value = attr_from_json(st.text(2));
        if (!value) continue;  // written by us, so only a hand edit gets here
        table[st.text(0)][st.text(1)] =
            StoredAttribute{*value, st.text(3), st.integer(4), st.maybe_integer(5)};
      }
      return table;
    });
  }

  Result<DeviceAttributes> device_attributes(std::string_view device) override {
    return guard([&] {
      DeviceAttributes attrs;
      Statement st(db_,
                   "SELECT key, value, source, updated_at, expires_at FROM attributes "
                   "WHERE device = ?");
      st.bind(1, device);
      while (st.step()) {
        auto value = attr_from_json(st.text(1));
        if (!value) continue;
        attrs[st.text(0)] = StoredAttribute{*value, st.text(2), st.integer(3), st.maybe_integer(4)};
      }
      return attrs;
    });
  }

  Status write_attributes(const std::vector<AttributeWrite>& writes,
                          const std::vector<AuditEvent>& events) override {
    return guard([&] {
      Transaction tx(*this);
      apply_writes(writes, events.empty() ? 0 : events.front().time);
      for (const auto& e : events) insert_event(e);
      tx.commit();
      return std::monostate{};
    });
  }

  Result<SyncStatus> load_status(std::int64_t integration_id) override {
    return guard([&] { return get_status(integration_id); });
  }

  Status save_status(std::int64_t integration_id, const SyncStatus& status) override {
    auto saved = edit_status(integration_id, [&status](SyncStatus& stored) { stored = status; });
    if (!saved) return saved.error();
    return std::monostate{};
  }

  Result<SyncStatus> edit_status(std::int64_t integration_id,
                                 const std::function<void(SyncStatus&)>& edit) override {
    return guard([&] {
      Transaction tx(*this);
      if (!exists(integration_id)) throw DiscardedFailure("the integration was removed");
      SyncStatus status = get_status(integration_id);
      edit(status);
      put_status(integration_id, status);
      tx.commit();
      return status;
    });
  }

  Status commit_sync(const SyncCommit& commit) override {
    return guard([&] {
      Transaction tx(*this);
      Statement st(db_, "SELECT config_version FROM integrations WHERE id = ?");
      st.bind(1, commit.integration_id);
      if (!st.step()) throw DiscardedFailure("the integration was removed during the sync");
      if (st.integer(0) != commit.expected_config_version) {
        throw DiscardedFailure("the integration's configuration changed during the sync");
      }
      const SyncStatus stored = get_status(commit.integration_id);
      if (stored.commits != commit.expected_commits) {
        throw DiscardedFailure("another sync committed while this one ran");
      }
      apply_writes(commit.writes, commit.time);
      for (const auto& e : commit.events) insert_event(e);
      put_status(commit.integration_id, with_stored_schedule(commit.status, stored));
      tx.commit();
      return std::monostate{};
    });
  }

  Result<std::vector<AuditEvent>> audit_log(const AuditQuery& q) override {
    return guard([&] {
      std::vector<AuditEvent> out;
      // Empty filters match everything; the newest `limit` rows are read, then put oldest first.
      Statement st(db_, prepared(audit_query_sql(q.since || q.until).c_str()));
      st.bind(1, q.since.value_or(std::numeric_limits<std::int64_t>::min()));
      st.bind(2, q.until.value_or(std::numeric_limits<std::int64_t>::max()));
      st.bind(3, q.actor).bind(4, q.actor).bind(5, q.target).bind(6, q.target);
      st.bind(7, q.action).bind(8, q.action);
      st.bind(9, q.limit ? static_cast<std::int64_t>(*q.limit) : std::int64_t{-1});
      while (st.step()) {
        out.push_back(AuditEvent{st.integer(0), st.integer(1), st.text(2), st.text(3), st.text(4),
                                 st.text(5), st.text(6)});
      }
      std::reverse(out.begin(), out.end());
      return out;
    });
  }

  Result<PolicyVersion> save_policy(PolicyVersion version, AuditEvent event,
                                    std::optional<std::int64_t> expected_current) override {
    return guard([&] {
      Transaction tx(*this);
      if (expected_current && current_policy_id() != *expected_current) {
        throw DiscardedFailure("the policy file was changed by someone else meanwhile");
      }
      Statement st(db_,
                   "INSERT INTO policy_versions(time, actor, origin, text) VALUES(?, ?, ?, ?)");
      st.bind(1, version.time).bind(2, version.actor).bind(3, version.origin);
      st.bind(4, version.text).run();
      version.id = sqlite3_last_insert_rowid(db_);
      insert_event(event);
      tx.commit();
      return version;
    });
  }

  // Tokens stay in files next to the database (token_store.cpp), never in it.
  Status save_token(std::string_view provider, std::string_view token) override {
    return store::write_token(path_, provider, token);
  }
  Result<std::string> load_token(std::string_view provider) override {
    return store::read_token(path_, provider);
  }
  Status delete_token(std::string_view provider) override {
    return store::remove_token(path_, provider);
  }

  Result<std::optional<PolicyVersion>> current_policy() override {
    return guard([&]() -> std::optional<PolicyVersion> {
      auto versions = read_policies(1);
      if (versions.empty()) return std::nullopt;
      return std::move(versions.front());
    });
  }

  Result<std::vector<PolicyVersion>> policy_history(std::size_t limit) override {
    return guard([&] { return read_policies(limit); });
  }

  Result<std::optional<PolicyVersion>> last_policy_from(std::string_view origin) override {
    return guard([&]() -> std::optional<PolicyVersion> {
      Statement st(db_,
                   "SELECT id, time, actor, origin, text FROM policy_versions WHERE origin = ? "
                   "ORDER BY id DESC LIMIT 1");
      st.bind(1, origin);
      if (!st.step()) return std::nullopt;
      return PolicyVersion{st.integer(0), st.integer(1), st.text(2), st.text(3), st.text(4)};
    });
  }

  Status create_credential(const ApiCredential& c, const std::vector<AuditEvent>& events) override {
    return guard([&] {
      Transaction tx(*this);
      if (find_credential_locked(c.id)) throw ConfigFailure("the credential id is taken");
      Statement st(db_,
                   "INSERT INTO api_credentials(id, kind, secret_hash, description, scopes, "
                   "parent, created_at, expires_at, revoked_at, last_used_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      st.bind(1, c.id).bind(2, c.kind).bind(3, c.secret_hash).bind(4, c.description);
      st.bind(5, c.scopes).bind(6, c.parent).bind(7, c.created_at).bind(8, c.expires_at);
      st.bind(9, c.revoked_at).bind(10, c.last_used_at).run();
      for (const auto& e : events) insert_event(e);
      tx.commit();
      return std::monostate{};
    });
  }

  Result<std::optional<ApiCredential>> find_credential(std::string_view id) override {
    return guard([&] { return find_credential_locked(id); });
  }

  Result<std::vector<ApiCredential>> list_credentials() override {
    return guard([&] {
      std::vector<ApiCredential> out;
      Statement st(db_, (std::string(kCredentialColumns) + " ORDER BY created_at, id").c_str());
      while (st.step()) out.push_back(read_credential(st));
      return out;
    });
  }

  Result<bool> revoke_credential(std::string_view id, std::int64_t time,
                                 const AuditEvent& event) override {
    return guard([&] {
      Transaction tx(*this);
      const auto found = find_credential_locked(id);
      if (!found || found->revoked_at) return false;
      Statement st(db_,
                   "UPDATE api_credentials SET revoked_at = ? "
                   "WHERE (id = ? OR parent = ?) AND revoked_at IS NULL");
      st.bind(1, time).bind(2, id).bind(3, id).run();
      insert_event(event);
      tx.commit();
      return true;
    });
  }

  Status touch_credential(std::string_view id, std::int64_t time) override {
    return guard([&] {
      Statement st(db_, "UPDATE api_credentials SET last_used_at = ? WHERE id = ?");
      st.bind(1, time).bind(2, id).run();
      return std::monostate{};
    });
  }

  Result<LiveTokens> live_tokens(std::string_view parent, std::int64_t time) override {
    return guard([&] {
      Statement st(db_,
                   "SELECT COUNT(*), MIN(expires_at) FROM api_credentials WHERE parent = ? AND "
                   "kind = 'oauth-token' AND revoked_at IS NULL AND expires_at > ?");
      st.bind(1, parent).bind(2, time);
      if (!st.step()) return LiveTokens{};
      return LiveTokens{st.integer(0), st.maybe_integer(1)};
    });
  }

  Status purge_expired_tokens(std::int64_t time) override {
    return guard([&] {
      Statement st(db_,
                   "DELETE FROM api_credentials WHERE kind = 'oauth-token' AND expires_at < ?");
      st.bind(1, time).run();
      return std::monostate{};
    });
  }

 private:
  static constexpr std::string_view kCredentialColumns =
      "SELECT id, kind, secret_hash, description, scopes, parent, created_at, expires_at, "
      "revoked_at, last_used_at FROM api_credentials";

  static ApiCredential read_credential(Statement& st) {
    return ApiCredential{
        st.text(0), st.text(1),    st.text(2),          st.text(3),          st.text(4),
        st.text(5), st.integer(6), st.maybe_integer(7), st.maybe_integer(8), st.maybe_integer(9)};
  }

  std::optional<ApiCredential> find_credential_locked(std::string_view id) {
    Statement st(db_, (std::string(kCredentialColumns) + " WHERE id = ?").c_str());
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_credential(st);
  }

  class Transaction {
   public:
    explicit Transaction(SqliteStore& store) : store_(store) {
      Statement(store_.db_, store_.prepared("BEGIN IMMEDIATE")).run();
    }
    ~Transaction() {
      if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      Statement(store_.db_, store_.prepared("COMMIT")).run();
      done_ = true;
    }

   private:
    SqliteStore& store_;
    bool done_ = false;
  };

  template <class F>
  auto guard(F&& body) -> Result<decltype(body())> {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      return body();
    } catch (const DiscardedFailure& e) {
      return SyncError{SyncErrorKind::Discarded, e.what()};
    } catch (const ConfigFailure& e) {
      return SyncError{SyncErrorKind::Config, e.what()};
    } catch (const std::exception& e) {
      return SyncError{SyncErrorKind::Store, e.what()};
    }
  }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreFailure("database error: " + message);
    }
  }

  static Integration read_integration(Statement& st) {
    return Integration{st.integer(0), st.text(1),    st.text(2), st.integer(3),
                       st.integer(4), st.integer(5), st.text(6)};
  }

  std::optional<Integration> find_locked(std::string_view provider) {
    Statement st(db_,
                 "SELECT id, provider, url, config_version, created_at, updated_at, "
                 "url_as_given FROM integrations WHERE provider = ?");
    st.bind(1, provider);
    if (!st.step()) return std::nullopt;
    return read_integration(st);
  }

  bool exists(std::int64_t id) {
    Statement st(db_, "SELECT 1 FROM integrations WHERE id = ?");
    st.bind(1, id);
    return st.step();
  }

  SyncStatus get_status(std::int64_t id) {
    Statement st(db_, "SELECT data FROM sync_status WHERE integration_id = ?");
    st.bind(1, id);
    if (!st.step()) return SyncStatus{};
    return status_from_json(st.text(0));
  }

  void put_status(std::int64_t id, const SyncStatus& status) {
    Statement st(db_, "INSERT OR REPLACE INTO sync_status(integration_id, data) VALUES(?, ?)");
    st.bind(1, id).bind(2, status_to_json(status).dump()).run();
  }

  // The statements of the attribute-write path, prepared once per connection (each write would
  // otherwise spend more time in SQLite's parser than in its B-tree). `sql` is a literal: its
  // address is the key.
  sqlite3_stmt* prepared(const char* sql) {
    auto& statement = prepared_[sql];
    if (statement == nullptr && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                   &statement, nullptr) != SQLITE_OK) {
      prepared_.erase(sql);
      throw StoreFailure(std::string("cannot prepare statement: ") + sqlite3_errmsg(db_));
    }
    return statement;
  }

  void insert_event(const AuditEvent& e) {
    Statement st(db_, prepared("INSERT INTO audit_log(time, actor, target, action, details, "
                               "origin) VALUES(?, ?, ?, ?, ?, ?)"));
    st.bind(1, e.time).bind_kept(2, e.actor).bind_kept(3, e.target).bind_kept(4, e.action);
    st.bind_kept(5, e.details.empty() ? std::string_view("{}") : std::string_view(e.details));
    st.bind_kept(6, e.origin).run();
  }

  std::int64_t current_policy_id() {
    Statement st(db_, "SELECT COALESCE(MAX(id), 0) FROM policy_versions");
    return st.step() ? st.integer(0) : 0;
  }

  std::vector<PolicyVersion> read_policies(std::size_t limit) {
    std::vector<PolicyVersion> out;
    Statement st(db_,
                 "SELECT id, time, actor, origin, text FROM policy_versions "
                 "ORDER BY id DESC LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    while (st.step()) {
      out.push_back(
          PolicyVersion{st.integer(0), st.integer(1), st.text(2), st.text(3), st.text(4)});
    }
    return out;
  }

  void apply_writes(const std::vector<AttributeWrite>& writes, std::int64_t time) {
    // An upsert updates the row in place (INSERT OR REPLACE deletes it and inserts it again).
    Statement upsert(db_, prepared("INSERT INTO attributes(device, key, value, source, updated_at, "
                                   "expires_at) VALUES(?, ?, ?, ?, ?, ?) "
                                   "ON CONFLICT(device, key) DO UPDATE SET value = excluded.value, "
                                   "source = excluded.source, updated_at = excluded.updated_at, "
                                   "expires_at = excluded.expires_at"));
    Statement erase(db_, prepared("DELETE FROM attributes WHERE device = ? AND key = ?"));
    for (const auto& w : writes) {
      if (w.value) {
        const auto value = attr_to_json(*w.value);
        upsert.bind_kept(1, w.device).bind_kept(2, w.key).bind_kept(3, value);
        upsert.bind_kept(4, w.source).bind(5, time).bind(6, w.expires_at).run();
      } else {
        erase.bind_kept(1, w.device).bind_kept(2, w.key).run();
      }
    }
  }

  sqlite3* db_;
  std::filesystem::path path_;
  std::mutex mu_;
  std::unordered_map<const char*, sqlite3_stmt*> prepared_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace

std::string attr_to_json(const engine::AttrValue& value) {
  return std::visit([](const auto& v) { return json(v).dump(); }, value);
}

std::optional<engine::AttrValue> attr_from_json(std::string_view text) {
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_boolean()) return engine::AttrValue{j.get<bool>()};
  if (j.is_number()) return engine::AttrValue{j.get<double>()};
  if (j.is_string()) return engine::AttrValue{j.get<std::string>()};
  return std::nullopt;
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  // No mutex of SQLite's own per call: every use of the connection is under SqliteStore::mu_
  // (guard), and the checkpoint thread has a connection of its own (decisions H30).
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 wal_frame_vfs());
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return SyncError{SyncErrorKind::Store, "cannot open `" + path.string() + "`: " + message};
  }
  sqlite3_busy_timeout(db, 10'000);
  auto store = std::make_unique<SqliteStore>(db, path);
  try {
    store->migrate();
  } catch (const std::exception& e) {
    return SyncError{SyncErrorKind::Store, "`" + path.string() + "`: " + e.what()};
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace postern::store
