// The PostgreSQL Store, shared by any number of `postern serve` replicas: one transaction per
// mutating call, a schema_version table with forward-only migrations applied at start under an
// advisory lock, and a change log (gapless ids in commit order, announced by NOTIFY) that the
// replicas replay into their evaluators.
#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "pg_connection.hpp"
#include "pg_schema.hpp"
#include "postern/store/store.hpp"
#include "status_json.hpp"
#include "store_failures.hpp"

namespace postern::store {
namespace {

using nlohmann::json;
using pg::Param;
using pg::param;
using pg::PgFailure;
using sync::SyncError;
using sync::SyncErrorKind;

using detail::changed_meanwhile;
using detail::ConfigFailure;
using detail::DiscardedFailure;

std::string random_replica_id() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw PgFailure("no randomness for the replica id");
  std::string out;
  for (const auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// The last write per (device, key) wins, as when the writes are applied one by one.
std::vector<AttributeWrite> last_write_wins(const std::vector<AttributeWrite>& writes) {
  std::map<std::pair<std::string, std::string>, std::size_t> last;
  for (std::size_t i = 0; i < writes.size(); ++i) last[{writes[i].device, writes[i].key}] = i;
  std::vector<std::size_t> order;
  order.reserve(last.size());
  for (const auto& [key, index] : last) order.push_back(index);
  std::sort(order.begin(), order.end());
  std::vector<AttributeWrite> out;
  out.reserve(order.size());
  for (const auto i : order) out.push_back(writes[i]);
  return out;
}

json writes_json(const std::vector<AttributeWrite>& writes) {
  json out = json::array();
  for (const auto& w : writes) {
    json entry = {{"d", w.device}, {"k", w.key}, {"s", w.source}};
    entry["v"] = w.value ? json(attr_to_json(*w.value)) : json(nullptr);
    entry["e"] = w.expires_at ? json(*w.expires_at) : json(nullptr);
    out.push_back(std::move(entry));
  }
  return out;
}

ApiCredential read_credential(const pg::Rows& rows, int r) {
  return ApiCredential{rows.text(r, 0),         rows.text(r, 1),          rows.text(r, 2),
                       rows.text(r, 3),         rows.text(r, 4),          rows.text(r, 5),
                       rows.integer(r, 6),      rows.maybe_integer(r, 7), rows.maybe_integer(r, 8),
                       rows.maybe_integer(r, 9)};
}

constexpr const char* kCredentialColumns =
    "id, kind, secret_hash, description, scopes, parent, created_at, expires_at, revoked_at, "
    "last_used_at";

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const std::string& url) : conn_(url), replica_id_(random_replica_id()) {}

  void migrate() { pg::apply_migrations(conn_); }

  [[nodiscard]] bool shared() const override { return true; }
  [[nodiscard]] std::string replica_id() const override { return replica_id_; }

  Result<std::int64_t> change_position() override {
    return guard(
        [&] { return conn_.exec("SELECT COALESCE(MAX(id), 0) FROM change_log").integer(0, 0); });
  }

  Result<std::vector<Change>> changes_after(std::int64_t after, std::size_t limit) override {
    return guard([&] {
      auto rows = conn_.exec(
          "SELECT id, kind, origin, payload FROM change_log WHERE id > $1 ORDER BY id LIMIT $2",
          {param(after),
           param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)))});
      std::vector<Change> out;
      for (int r = 0; r < rows.size(); ++r) {
        out.push_back(
            Change{rows.integer(r, 0), rows.text(r, 1), rows.text(r, 2), rows.text(r, 3)});
      }
      return out;
    });
  }

  Result<std::vector<Integration>> list_integrations() override {
    return guard([&] {
      auto rows = conn_.exec(
          "SELECT id, provider, url, config_version, created_at, updated_at, url_as_given "
          "FROM integrations ORDER BY provider");
      std::vector<Integration> out;
      for (int r = 0; r < rows.size(); ++r) out.push_back(read_integration(rows, r));
      return out;
    });
  }

  Result<std::optional<Integration>> find_integration(std::string_view provider) override {
    return guard([&] { return find_locked(provider); });
  }

  Result<Integration> create_integration(Integration integration, AuditEvent event,
                                         const IntegrationWrite& write) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      auto rows = conn_.exec(
          "INSERT INTO integrations(provider, url, config_version, created_at, updated_at, "
          "url_as_given) VALUES($1, $2, 1, $3, $4, $5) ON CONFLICT (provider) DO NOTHING "
          "RETURNING id",
          {param(integration.provider), param(integration.url), param(integration.created_at),
           param(integration.updated_at), param(integration.url_as_given)});
      if (rows.size() == 0) {
        throw ConfigFailure("a `" + integration.provider + "` integration already exists");
      }
      integration.id = rows.integer(0, 0);
      integration.config_version = 1;
      if (write.token) put_token(integration.provider, *write.token);
      SyncStatus status;
      status.next_run = integration.created_at;  // sync right away
      put_status(integration.id, status);
      event.target = event.target.empty() ? "integration:" + integration.provider : event.target;
      event.details = with_integration_id(event.details, integration.id);
      insert_event(event);
      record_integration_change(integration);
      tx.commit();
      return integration;
    });
  }

  Result<Integration> update_integration(const Integration& integration, AuditEvent event,
                                         const IntegrationWrite& write) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      auto locked = conn_.exec("SELECT config_version FROM integrations WHERE id = $1 FOR UPDATE",
                               {param(integration.id)});
      if (locked.size() == 0) throw ConfigFailure("the integration no longer exists");
      if (write.read_version && *write.read_version != locked.integer(0, 0)) {
        throw DiscardedFailure(changed_meanwhile(integration.provider));
      }
      if (write.token) put_token(integration.provider, *write.token);
      conn_.exec(
          "UPDATE integrations SET url = $1, config_version = config_version + 1, "
          "updated_at = $2, url_as_given = $3 WHERE id = $4",
          {param(integration.url), param(integration.updated_at), param(integration.url_as_given),
           param(integration.id)});  // locked above: it exists
      SyncStatus status = get_status(integration.id);
      status.paused_until.reset();  // a configuration change clears an auth pause
      status.next_run = integration.updated_at;
      put_status(integration.id, status);
      insert_event(event);
      auto updated = find_locked(integration.provider);
      if (!updated) throw ConfigFailure("the integration no longer exists");
      record_integration_change(*updated);
      tx.commit();
      return *updated;
    });
  }

  Status remove_integration(std::int64_t id, const std::vector<AttributeWrite>& writes,
                            const std::vector<AuditEvent>& events) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      auto provider =
          conn_.exec("DELETE FROM integrations WHERE id = $1 RETURNING provider", {param(id)});
      conn_.exec("DELETE FROM sync_status WHERE integration_id = $1", {param(id)});
      apply_writes(writes, 0);
      for (const auto& e : events) insert_event(e);
      if (provider.size() > 0) {
        record_integration_change(Integration{id, provider.text(0, 0), {}, 0, 0, 0, {}});
      }
      tx.commit();
      return std::monostate{};
    });
  }

  Result<AttributeTable> load_attributes() override {
    return guard([&] {
      AttributeTable table;
      auto rows =
          conn_.exec("SELECT device, key, value, source, updated_at, expires_at FROM attributes");
      for (int r = 0; r < rows.size(); ++r) {
        auto value = attr_from_json(rows.text(r, 2));
        if (!value) continue;  // written by us, so only a hand edit gets here
        table[rows.text(r, 0)][rows.text(r, 1)] =
            StoredAttribute{*value, rows.text(r, 3), rows.integer(r, 4), rows.maybe_integer(r, 5)};
      }
      return table;
    });
  }

  Result<DeviceAttributes> device_attributes(std::string_view device) override {
    return guard([&] {
      DeviceAttributes attrs;
      auto rows = conn_.exec(
          "SELECT key, value, source, updated_at, expires_at FROM attributes WHERE device = $1",
          {param(device)});
      for (int r = 0; r < rows.size(); ++r) {
        auto value = attr_from_json(rows.text(r, 1));
        if (!value) continue;
        attrs[rows.text(r, 0)] =
            StoredAttribute{*value, rows.text(r, 2), rows.integer(r, 3), rows.maybe_integer(r, 4)};
      }
      return attrs;
    });
  }

  Status write_attributes(const std::vector<AttributeWrite>& writes,
                          const std::vector<AuditEvent>& events) override {
    return guard([&] {
      pg::Transaction tx(conn_);
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
      pg::Transaction tx(conn_);
      // FOR UPDATE: a sync's commit waits for this edit, or this edit reads what it committed.
      if (conn_.exec("SELECT 1 FROM integrations WHERE id = $1 FOR UPDATE", {param(integration_id)})
              .size() == 0) {
        throw DiscardedFailure("the integration was removed");
      }
      SyncStatus status = get_status(integration_id);
      edit(status);
      put_status(integration_id, status);
      tx.commit();
      return status;
    });
  }

  Status commit_sync(const SyncCommit& commit) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      // FOR UPDATE: a concurrent update or removal waits for this commit, or this one sees it.
      auto rows = conn_.exec("SELECT config_version FROM integrations WHERE id = $1 FOR UPDATE",
                             {param(commit.integration_id)});
      if (rows.size() == 0) throw DiscardedFailure("the integration was removed during the sync");
      if (rows.integer(0, 0) != commit.expected_config_version) {
        throw DiscardedFailure("the integration's configuration changed during the sync");
      }
      // The row lock above serialises commits, so this read sees every earlier one.
      const SyncStatus stored = get_status(commit.integration_id);
      if (stored.commits != commit.expected_commits) {
        throw DiscardedFailure("another sync committed while this one ran");
      }
      apply_writes(commit.writes, commit.time);
      insert_events(commit.events);
      put_status(commit.integration_id, with_stored_schedule(commit.status, stored));
      tx.commit();
      return std::monostate{};
    });
  }

  Result<std::vector<AuditEvent>> audit_log(const AuditQuery& q) override {
    return guard([&] {
      auto rows = conn_.exec(
          "SELECT id, time, actor, target, action, details, origin FROM audit_log "
          "WHERE time >= $1 AND time < $2 AND ($3 = '' OR actor = $3) "
          "AND ($4 = '' OR target = $4) AND ($5 = '' OR action = $5) "
          "ORDER BY id DESC LIMIT $6",
          {param(q.since.value_or(std::numeric_limits<std::int64_t>::min())),
           param(q.until.value_or(std::numeric_limits<std::int64_t>::max())), param(q.actor),
           param(q.target), param(q.action),
           q.limit ? param(static_cast<std::int64_t>(std::min<std::size_t>(*q.limit, INT64_MAX)))
                   : Param{}});
      std::vector<AuditEvent> out;
      for (int r = rows.size() - 1; r >= 0; --r) {
        out.push_back(AuditEvent{rows.integer(r, 0), rows.integer(r, 1), rows.text(r, 2),
                                 rows.text(r, 3), rows.text(r, 4), rows.text(r, 5),
                                 rows.text(r, 6)});
      }
      return out;
    });
  }

  Result<PolicyVersion> save_policy(PolicyVersion version, AuditEvent event,
                                    std::optional<std::int64_t> expected_current) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      // Policy saves queue on this lock, so the "expected current" check cannot race.
      conn_.exec("SELECT pg_advisory_xact_lock($1)", {param(pg::kPolicyLock)});
      if (expected_current && current_policy_id() != *expected_current) {
        throw DiscardedFailure("the policy file was changed by someone else meanwhile");
      }
      version.id =
          conn_
              .exec(
                  "INSERT INTO policy_versions(time, actor, origin, text) VALUES($1, $2, $3, $4) "
                  "RETURNING id",
                  {param(version.time), param(version.actor), param(version.origin),
                   param(version.text)})
              .integer(0, 0);
      insert_event(event);
      record_change("policy", json{{"id", version.id}, {"text", version.text}});
      tx.commit();
      return version;
    });
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
      auto rows = conn_.exec(
          "SELECT id, time, actor, origin, text FROM policy_versions WHERE origin = $1 "
          "ORDER BY id DESC LIMIT 1",
          {param(origin)});
      if (rows.size() == 0) return std::nullopt;
      return PolicyVersion{rows.integer(0, 0), rows.integer(0, 1), rows.text(0, 2), rows.text(0, 3),
                           rows.text(0, 4)};
    });
  }

  Status save_token(std::string_view provider, std::string_view token) override {
    return guard([&] {
      put_token(provider, token);
      return std::monostate{};
    });
  }

  Result<std::string> load_token(std::string_view provider) override {
    auto rows = guard([&] {
      auto found =
          conn_.exec("SELECT token FROM integration_tokens WHERE provider = $1", {param(provider)});
      return found.size() == 0 ? std::optional<std::string>{} : found.text(0, 0);
    });
    if (!rows) return rows.error();
    if (!rows.value() || rows.value()->empty()) {
      return SyncError{SyncErrorKind::Config,
                       fmt::format("no API token is stored for `{}`; run `postern integrations "
                                   "update {} --token-file FILE`",
                                   provider, provider)};
    }
    return *rows.value();
  }

  Status delete_token(std::string_view provider) override {
    return guard([&] {
      conn_.exec("DELETE FROM integration_tokens WHERE provider = $1", {param(provider)});
      return std::monostate{};
    });
  }

  Status create_credential(const ApiCredential& c, const std::vector<AuditEvent>& events) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      auto rows = conn_.exec(
          "INSERT INTO api_credentials(id, kind, secret_hash, description, scopes, parent, "
          "created_at, expires_at, revoked_at, last_used_at) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING "
          "RETURNING id",
          {param(c.id), param(c.kind), param(c.secret_hash), param(c.description), param(c.scopes),
           param(c.parent), param(c.created_at), param(c.expires_at), param(c.revoked_at),
           param(c.last_used_at)});
      if (rows.size() == 0) throw ConfigFailure("the credential id `" + c.id + "` is taken");
      insert_events(events);
      tx.commit();
      return std::monostate{};
    });
  }

  Result<std::optional<ApiCredential>> find_credential(std::string_view id) override {
    return guard([&]() -> std::optional<ApiCredential> {
      auto rows = conn_.exec(
          fmt::format("SELECT {} FROM api_credentials WHERE id = $1", kCredentialColumns).c_str(),
          {param(id)});
      if (rows.size() == 0) return std::nullopt;
      return read_credential(rows, 0);
    });
  }

  Result<std::vector<ApiCredential>> list_credentials() override {
    return guard([&] {
      auto rows = conn_.exec(
          fmt::format("SELECT {} FROM api_credentials ORDER BY created_at, id", kCredentialColumns)
              .c_str());
      std::vector<ApiCredential> out;
      for (int r = 0; r < rows.size(); ++r) out.push_back(read_credential(rows, r));
      return out;
    });
  }

  Result<bool> revoke_credential(std::string_view id, std::int64_t time,
                                 const AuditEvent& event) override {
    return guard([&] {
      pg::Transaction tx(conn_);
      auto rows = conn_.exec(
          "UPDATE api_credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL "
          "RETURNING id",
          {param(id), param(time)});
      if (rows.size() == 0) return false;
      conn_.exec(
          "UPDATE api_credentials SET revoked_at = $2 WHERE parent = $1 AND revoked_at IS NULL",
          {param(id), param(time)});
      insert_event(event);
      // Replicas drop what they keep of it for authenticating while the store is down.
      record_change("credential", json{{"id", std::string(id)}});
      tx.commit();
      return true;
    });
  }

  Status touch_credential(std::string_view id, std::int64_t time) override {
    return guard([&] {
      conn_.exec("UPDATE api_credentials SET last_used_at = $2 WHERE id = $1",
                 {param(id), param(time)});
      return std::monostate{};
    });
  }

  Result<LiveTokens> live_tokens(std::string_view parent, std::int64_t time) override {
    return guard([&] {
      auto rows = conn_.exec(
          "SELECT COUNT(*), MIN(expires_at) FROM api_credentials WHERE parent = $1 AND "
          "kind = 'oauth-token' AND revoked_at IS NULL AND expires_at > $2",
          {param(parent), param(time)});
      return LiveTokens{rows.integer(0, 0), rows.maybe_integer(0, 1)};
    });
  }

  Status purge_expired_tokens(std::int64_t time) override {
    return guard([&] {
      conn_.exec(
          "DELETE FROM api_credentials WHERE kind = 'oauth-token' AND expires_at IS NOT NULL "
          "AND expires_at < $1",
          {param(time)});
      return std::monostate{};
    });
  }

 private:
  template <class F>
  auto guard(F&& body) -> Result<decltype(body())> {
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_connected = conn_.connected();
    const auto done_before = conn_.statements_done();
    auto result = attempt(body);
    // A connection the server dropped while idle (a restart, a failover) shows as lost only when
    // next used. When the first statement of this call failed that way, nothing of it took
    // effect (it is a BEGIN, a read, or one of the idempotent single writes above): run it once
    // more on a new connection rather than fail the first request after a restart.
    if (!result && was_connected && !conn_.connected() && conn_.statements_done() == done_before) {
      result = attempt(body);
    }
    return result;
  }

  template <class F>
  auto attempt(F& body) -> Result<decltype(body())> {
    try {
      conn_.ensure_connected();
      return body();
    } catch (const DiscardedFailure& e) {
      return SyncError{SyncErrorKind::Discarded, e.what()};
    } catch (const ConfigFailure& e) {
      return SyncError{SyncErrorKind::Config, e.what()};
    } catch (const std::exception& e) {
      if (!conn_.connected()) {
        return SyncError{SyncErrorKind::Store,
                         fmt::format("PostgreSQL at `{}` is unreachable, so nothing was saved; "
                                     "retry when it is back ({})",
                                     conn_.redacted_url(), e.what())};
      }
      return SyncError{SyncErrorKind::Store, e.what()};
    }
  }

  static Integration read_integration(const pg::Rows& rows, int r) {
    return Integration{rows.integer(r, 0), rows.text(r, 1),    rows.text(r, 2), rows.integer(r, 3),
                       rows.integer(r, 4), rows.integer(r, 5), rows.text(r, 6)};
  }

  std::optional<Integration> find_locked(std::string_view provider) {
    auto rows = conn_.exec(
        "SELECT id, provider, url, config_version, created_at, updated_at, url_as_given "
        "FROM integrations WHERE provider = $1",
        {param(provider)});
    if (rows.size() == 0) return std::nullopt;
    return read_integration(rows, 0);
  }

  SyncStatus get_status(std::int64_t id) {
    auto rows = conn_.exec("SELECT data FROM sync_status WHERE integration_id = $1", {param(id)});
    if (rows.size() == 0) return SyncStatus{};
    return status_from_json(rows.text(0, 0));
  }

  void put_status(std::int64_t id, const SyncStatus& status) {
    conn_.exec(
        "INSERT INTO sync_status(integration_id, data) VALUES($1, $2) "
        "ON CONFLICT (integration_id) DO UPDATE SET data = EXCLUDED.data",
        {param(id), param(status_to_json(status).dump())});
  }

  void insert_event(const AuditEvent& e) { insert_events({e}); }

  // One statement for any number of events: a sync's events cost one round trip.
  void insert_events(const std::vector<AuditEvent>& events) {
    if (events.empty()) return;
    json rows = json::array();
    for (const auto& e : events) {
      rows.push_back({{"time", e.time},
                      {"actor", e.actor},
                      {"target", e.target},
                      {"action", e.action},
                      {"details", e.details.empty() ? std::string("{}") : e.details},
                      {"origin", e.origin}});
    }
    conn_.exec(
        "INSERT INTO audit_log(time, actor, target, action, details, origin) "
        "SELECT (e->>'time')::bigint, e->>'actor', e->>'target', e->>'action', e->>'details', "
        "e->>'origin' FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n",
        {param(rows.dump())});
  }

  std::int64_t current_policy_id() {
    return conn_.exec("SELECT COALESCE(MAX(id), 0) FROM policy_versions").integer(0, 0);
  }

  std::vector<PolicyVersion> read_policies(std::size_t limit) {
    auto rows = conn_.exec(
        "SELECT id, time, actor, origin, text FROM policy_versions ORDER BY id DESC LIMIT $1",
        {param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)))});
    std::vector<PolicyVersion> out;
    for (int r = 0; r < rows.size(); ++r) {
      out.push_back(PolicyVersion{rows.integer(r, 0), rows.integer(r, 1), rows.text(r, 2),
                                  rows.text(r, 3), rows.text(r, 4)});
    }
    return out;
  }

  // Set-based: thousands of writes are two statements, not thousands of round trips.
  void apply_writes(const std::vector<AttributeWrite>& writes, std::int64_t time) {
    if (writes.empty()) return;
    const json batch = writes_json(last_write_wins(writes));
    const std::string text = batch.dump();
    conn_.exec(
        "INSERT INTO attributes(device, key, value, source, updated_at, expires_at) "
        "SELECT d, k, v, s, $2, e FROM jsonb_to_recordset($1::jsonb) "
        "AS w(d text, k text, v text, s text, e bigint) WHERE v IS NOT NULL "
        "ON CONFLICT (device, key) DO UPDATE SET value = EXCLUDED.value, "
        "source = EXCLUDED.source, updated_at = EXCLUDED.updated_at, "
        "expires_at = EXCLUDED.expires_at",
        {param(text), param(time)});
    conn_.exec(
        "DELETE FROM attributes a USING jsonb_to_recordset($1::jsonb) AS w(d text, k text, v text) "
        "WHERE w.v IS NULL AND a.device = w.d AND a.key = w.k",
        {param(text)});
    record_change("attributes", json{{"writes", batch}});
  }

  void put_token(std::string_view provider, std::string_view token) {
    conn_.exec(
        "INSERT INTO integration_tokens(provider, token) VALUES($1, $2) "
        "ON CONFLICT (provider) DO UPDATE SET token = EXCLUDED.token",
        {param(provider), param(token)});
  }

  void record_integration_change(const Integration& integration) {
    record_change("integration", json{{"id", integration.id}, {"provider", integration.provider}});
  }

  // Appends to the change log and announces it; both take effect at COMMIT. The lock makes ids
  // gapless and in commit order, so a replica that has applied id N has applied every id <= N.
  void record_change(std::string_view kind, const json& payload) {
    conn_.exec("SELECT pg_advisory_xact_lock($1)", {param(pg::kChangeLogLock)});
    const auto id = conn_
                        .exec(
                            "INSERT INTO change_log(id, kind, origin, payload) "
                            "SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3 FROM change_log "
                            "RETURNING id",
                            {param(kind), param(replica_id_), param(payload.dump())})
                        .integer(0, 0);
    const json notice = {{"id", id}, {"kind", kind}, {"origin", replica_id_}};
    conn_.exec("SELECT pg_notify($1, $2)", {param(pg::kChangeChannel), param(notice.dump())});
  }

  pg::Connection conn_;
  std::string replica_id_;
  std::mutex mu_;
};

}  // namespace

bool is_postgres_url(std::string_view db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

bool is_postgres_keywords(std::string_view db) {
  while (!db.empty() && (db.front() == ' ' || db.front() == '\t')) db.remove_prefix(1);
  const auto equals = db.find('=');
  if (equals == std::string_view::npos) return false;
  auto key = db.substr(0, equals);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
  static constexpr std::array<std::string_view, 12> kKeys = {"host",
                                                             "hostaddr",
                                                             "port",
                                                             "dbname",
                                                             "user",
                                                             "password",
                                                             "passfile",
                                                             "sslmode",
                                                             "service",
                                                             "options",
                                                             "connect_timeout",
                                                             "application_name"};
  return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url) {
  try {
    auto store = std::make_unique<PostgresStore>(url);
    store->migrate();
    return std::unique_ptr<Store>(std::move(store));
  } catch (const std::exception& e) {
    return SyncError{SyncErrorKind::Store, e.what()};
  }
}

Result<std::unique_ptr<Store>> open_store(std::string_view db) {
  if (is_postgres_url(db)) return open_postgres_store(std::string(db));
  return open_sqlite_store(std::filesystem::path(std::string(db)));
}

}  // namespace postern::store
