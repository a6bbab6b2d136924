#pragma once
// The records the posture sync reads and produces: integrations, stored attributes, audit events,
// per-integration status and the change set a successful sync commits. The store persists them
// (store/); the control layer commits them; the sync only computes them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"

namespace postern::sync {

using engine::AttrValue;

struct Integration {
  std::int64_t id = 0;
  std::string provider;             // "kandji"; one integration per provider
  std::string url;                  // normalised base URL
  std::int64_t config_version = 1;  // bumped by every update
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  // The URL exactly as last given (the API's `cloudId` gives it back, so Terraform sees no
  // drift); empty for integrations stored before it was kept.
  std::string url_as_given;
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
  std::string actor;    // "admin:alice", "integration:kandji", "api-key:k123"
  std::string target;   // "integration:kandji", "node:nCar0lMBP05", "policy"
  std::string action;   // kAction* below
  std::string details;  // JSON object text, never a secret
  std::string origin;   // "CLI", "CONFIG_API", "ADMIN_CONSOLE", "CONTROL"
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
  std::int64_t commits = 0;         // successful syncs committed so far (see SyncCommit)
  // "Sync now" requests stored so far. A run that finds it grown since it started was asked for
  // again meanwhile (on a replica, say), and plans one more run: a count, not a time, so no two
  // clocks are compared. Like next_run, the scheduler's: a sync's commit keeps what is stored.
  std::int64_t sync_requests = 0;
};

// One attribute change of one device; no value means delete.
struct AttributeWrite {
  std::string device;  // device key: nodeId, else id (sync::device_key)
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
  // The status's `commits` when the sync started: another sync (another process's `sync --once`)
  // that committed meanwhile holds data at least as new, so a mismatch is Discarded too.
  std::int64_t expected_commits = 0;
};

inline constexpr std::string_view kActionCreate = "Create posture integration";
inline constexpr std::string_view kActionUpdate = "Update posture integration";
inline constexpr std::string_view kActionRemove = "Removed posture integration";
inline constexpr std::string_view kActionNodeAttribute = "Update node attribute";
inline constexpr std::string_view kActionPolicy = "Update policy file";

}  // namespace postern::sync
