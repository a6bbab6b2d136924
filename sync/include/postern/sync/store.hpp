#pragma once
// Persistent state behind a small interface (SQLite today; a PostgreSQL backend could follow):
// integrations, device attributes, the audit log and per-integration sync status.
// Every mutating call is one transaction, so a crash leaves either all of it or none of it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/sync/result.hpp"

namespace postern::sync {

using engine::AttrValue;

inline constexpr std::string_view kDefaultDbPath = "postern.db";

struct Integration {
  std::int64_t id = 0;
  std::string provider;             // "kandji"; one integration per provider
  std::string url;                  // normalised base URL
  std::int64_t config_version = 1;  // bumped by every update
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct StoredAttribute {
  engine::AttrValue value;
  std::string source;  // provider id ("kandji") or "api"
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> expires_at;
};

using DeviceAttributes = std::map<std::string, StoredAttribute>;  // key -> attribute
using AttributeTable = std::map<std::string, DeviceAttributes>;   // device key -> attrs

struct AuditEvent {
  std::int64_t id = 0;  // assigned by the store
  std::int64_t time = 0;
  std::string actor;    // "admin:alice", "integration:kandji"
  std::string target;   // "integration:kandji", "node:nCar0lMBP05"
  std::string action;   // "Create posture integration", "Update node attribute", ...
  std::string details;  // JSON object text, never a secret
};

struct SyncStatus {
  std::optional<std::int64_t> last_success;
  std::optional<std::int64_t> last_attempt;
  std::string last_error;       // redacted and truncated; empty after a success
  std::string last_error_kind;  // kind_name() of the last error
  std::optional<std::int64_t> paused_until;
  std::optional<std::int64_t> next_run;
  std::int64_t provider_host_count = 0;
  std::int64_t matched_count = 0;
  std::int64_t possible_matched_count = 0;
  std::vector<std::string> ambiguous_serials;
  std::int64_t records_without_serial = 0;
  std::int64_t pages = 0;
  std::int64_t duration_ms = 0;
  std::int64_t suspect_streak = 0;  // consecutive syncs whose removals the guard held back
  std::string warning;              // e.g. removals held back by the mass-removal guard
};

// One attribute change; a missing side means set (no old) or delete (no new).
struct AttributeWrite {
  std::string device;
  std::string key;
  std::optional<engine::AttrValue> value;  // nullopt: delete
  std::string source;
  std::optional<std::int64_t> expires_at;
};

// Everything a successful sync commits, in one transaction.
struct SyncCommit {
  std::int64_t integration_id = 0;
  std::int64_t expected_config_version = 0;  // mismatch: Discarded, nothing written
  std::int64_t time = 0;
  std::vector<AttributeWrite> writes;
  std::vector<AuditEvent> events;
  SyncStatus status;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::vector<Integration>> list_integrations() = 0;
  virtual Result<std::optional<Integration>> find_integration(std::string_view provider) = 0;
  // Inserts the integration and its audit event; Config error when the provider already has one.
  virtual Result<Integration> create_integration(Integration integration, AuditEvent event) = 0;
  // Replaces url, bumps config_version, clears the pause, schedules a run now, logs `event`.
  virtual Result<Integration> update_integration(const Integration& integration,
                                                 AuditEvent event) = 0;
  // Deletes the integration, its status and the attribute writes, logs every event.
  virtual Status remove_integration(std::int64_t id, const std::vector<AttributeWrite>& writes,
                                    const std::vector<AuditEvent>& events) = 0;

  virtual Result<AttributeTable> load_attributes() = 0;
  virtual Result<DeviceAttributes> device_attributes(std::string_view device) = 0;
  // Direct writes (API-set custom:* attributes) with their audit events, in one transaction.
  virtual Status write_attributes(const std::vector<AttributeWrite>& writes,
                                  const std::vector<AuditEvent>& events) = 0;

  virtual Result<SyncStatus> load_status(std::int64_t integration_id) = 0;
  // Status only (failed syncs, schedule): never touches attributes.
  virtual Status save_status(std::int64_t integration_id, const SyncStatus& status) = 0;
  // Attributes, audit events and status of a successful sync.
  virtual Status commit_sync(const SyncCommit& commit) = 0;

  virtual Result<std::vector<AuditEvent>> audit_log(std::optional<std::int64_t> since) = 0;
};

// Opens (creating and migrating as needed) the SQLite store at `path` in WAL mode.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path);

// API tokens live outside the database in `<db>.secrets/<provider>.token`, directory 0700 and
// file 0600, so a copy of the database or its backups never carries them.
std::filesystem::path token_path(const std::filesystem::path& db_path, std::string_view provider);
Status write_token(const std::filesystem::path& db_path, std::string_view provider,
                   std::string_view token);
Result<std::string> read_token(const std::filesystem::path& db_path, std::string_view provider);
Status remove_token(const std::filesystem::path& db_path, std::string_view provider);

// JSON text of an attribute value ("true", "3", "\"gold\"") and back.
std::string attr_to_json(const engine::AttrValue& value);
std::optional<engine::AttrValue> attr_from_json(std::string_view text);

}  // namespace postern::sync
