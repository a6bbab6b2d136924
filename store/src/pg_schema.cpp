// PostgreSQL schema versions. Each entry upgrades the schema by one version; never edit a shipped
// entry, append a new one.
#include "pg_schema.hpp"

#include <fmt/format.h>

#include <iterator>

namespace postern::store::pg {
namespace {

constexpr const char* kMigrations[] = {
    // v1: the same tables as the SQLite store at its version 3, plus the tokens (a table no
    // status or API query reads) and the change log the replicas replay.
    "CREATE TABLE integrations("
    "  id BIGSERIAL PRIMARY KEY,"
    "  provider TEXT NOT NULL UNIQUE,"
    "  url TEXT NOT NULL,"
    "  config_version BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE TABLE attributes("
    "  device TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  expires_at BIGINT,"
    "  PRIMARY KEY(device, key));"
    "CREATE INDEX attributes_source ON attributes(source);"
    "CREATE TABLE audit_log("
    "  id BIGSERIAL PRIMARY KEY,"
    "  time BIGINT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  details TEXT NOT NULL,"
    "  origin TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_log_time ON audit_log(time);"
    "CREATE INDEX audit_log_actor ON audit_log(actor);"
    "CREATE INDEX audit_log_target ON audit_log(target);"
    "CREATE TABLE sync_status("
    "  integration_id BIGINT PRIMARY KEY,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE policy_versions("
    "  id BIGSERIAL PRIMARY KEY,"
    "  time BIGINT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  text TEXT NOT NULL);"
    "CREATE TABLE integration_tokens("
    "  provider TEXT PRIMARY KEY,"
    "  token TEXT NOT NULL);"
    "CREATE TABLE change_log("
    "  id BIGINT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  payload TEXT NOT NULL);",
    // v2: API credentials (issue 9); only the secrets' SHA-256 is kept.
    "CREATE TABLE api_credentials("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  secret_hash TEXT NOT NULL,"
    "  description TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  parent TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT,"
    "  revoked_at BIGINT,"
    "  last_used_at BIGINT);"
    "CREATE INDEX api_credentials_parent ON api_credentials(parent);",
    // v3: attributes_source served no query and cost every attribute write an index update.
    "DROP INDEX IF EXISTS attributes_source;",
    // v4: the integration URL as the admin wrote it, which the API gives back as `cloudId`.
    "ALTER TABLE integrations ADD COLUMN url_as_given TEXT NOT NULL DEFAULT '';",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

}  // namespace

int schema_version() { return kSchemaVersion; }

void apply_migrations(Connection& conn) {
  Transaction tx(conn);
  conn.exec("SELECT pg_advisory_xact_lock($1)", {param(kMigrationLock)});
  conn.exec_script("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
  auto rows = conn.exec("SELECT version FROM schema_version");
  int version = 0;
  if (rows.size() == 0) {
    conn.exec_script("INSERT INTO schema_version(version) VALUES(0)");
  } else {
    version = static_cast<int>(rows.integer(0, 0));
  }
  if (version > kSchemaVersion) {
    throw PgFailure(fmt::format(
        "the database schema (version {}) is newer than this postern supports ({}); upgrade "
        "postern on this replica",
        version, kSchemaVersion));
  }
  for (int v = version; v < kSchemaVersion; ++v) conn.exec_script(kMigrations[v]);
  conn.exec("UPDATE schema_version SET version = $1",
            {param(static_cast<std::int64_t>(kSchemaVersion))});
  tx.commit();
}

}  // namespace postern::store::pg
