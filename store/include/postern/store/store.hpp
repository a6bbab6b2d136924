#pragma once
// Persistent state behind one interface (SQLite today; PostgreSQL for replicas next): the policy
// file and every earlier version, posture integrations and their sync status, device attributes
// and the audit log. Used only by the control layer. Every mutating call is one transaction, so a
// crash leaves either all of it or none of it. Secrets never enter the database (token_store).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/sync/ledger.hpp"
#include "postern/sync/records.hpp"
#include "postern/sync/result.hpp"

namespace postern::store {

using sync::AttributeTable;
using sync::AttributeWrite;
using sync::AuditEvent;
using sync::DeviceAttributes;
using sync::Integration;
using sync::Result;
using sync::Status;
using sync::StoredAttribute;
using sync::SyncCommit;
using sync::SyncStatus;

inline constexpr std::string_view kDefaultDbPath = "postern.db";

// One saved version of the policy file, exactly as it was written (comments kept).
struct PolicyVersion {
  std::int64_t id = 0;  // assigned by the store, increasing
  std::int64_t time = 0;
  std::string actor;
  std::string origin;  // "CLI", "CONFIG_API", "ADMIN_CONSOLE", "SEED"
  std::string text;
};

// Filters of an audit-log query; unset fields match everything.
struct AuditQuery {
  std::optional<std::int64_t> since;  // time >= since
  std::optional<std::int64_t> until;  // time < until
  std::string actor;                  // exact
  std::string target;                 // exact
  std::string action;                 // exact
  std::optional<std::size_t> limit;   // newest `limit` events
};

// An API credential (issue 9): an access key, an OAuth client, or an access token an OAuth client
// obtained. Only the SHA-256 of the secret is kept; the public `id` finds the row.
struct ApiCredential {
  std::string id;           // e.g. "k1f2e3d4c5b6a7980", unique across kinds
  std::string kind;         // "api-key", "oauth-client" or "oauth-token"
  std::string secret_hash;  // lowercase hex SHA-256 of the secret part of the token
  std::string description;
  std::string scopes;  // space-separated scope names as granted
  std::string parent;  // oauth-token: the id of the client it was issued to; else empty
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> revoked_at;
  std::optional<std::int64_t> last_used_at;
};

// One committed change as replicas replay it (PostgreSQL's change_log): ids are gapless and in
// commit order. kind "attributes": payload {"writes":[...]}; "policy": {"id":N,"text":...};
// "integration": {"id":N,"provider":...}; "credential": {"id":...} (revoked, with its tokens).
struct Change {
  std::int64_t id = 0;
  std::string kind;
  std::string origin;  // replica_id() of the writer
  std::string payload;
};

// What an integration change writes besides its row, in the row's own transaction: a token is
// never stored beside a URL it was not given for, whether the change fails (a full disk) or
// races another change.
struct IntegrationWrite {
  std::optional<std::string> token;  // replaces the stored API token
  // The config_version the change was decided on: another change since is Discarded.
  std::optional<std::int64_t> read_version;
};

// An OAuth client's unexpired access tokens (Store::live_tokens).
struct LiveTokens {
  std::int64_t count = 0;
  std::optional<std::int64_t> first_expiry;  // none when count is 0
};

class Store : public sync::SyncLedger {
 public:
  // Inserts the integration and its audit event; Config error when the provider already has one.
  virtual Result<Integration> create_integration(Integration integration, AuditEvent event,
                                                 const IntegrationWrite& write = {}) = 0;
  // Replaces url, bumps config_version, clears the pause, schedules a run now, logs `event`.
  virtual Result<Integration> update_integration(const Integration& integration, AuditEvent event,
                                                 const IntegrationWrite& write = {}) = 0;
  // Deletes the integration, its status and the attribute writes, logs every event.
  virtual Status remove_integration(std::int64_t id, const std::vector<AttributeWrite>& writes,
                                    const std::vector<AuditEvent>& events) = 0;
  // The whole status, replaced (edit_status with an edit that assigns it).
  virtual Status save_status(std::int64_t integration_id, const SyncStatus& status) = 0;

  virtual Result<DeviceAttributes> device_attributes(std::string_view device) = 0;
  // Direct writes (API-set custom:* attributes) with their audit events, in one transaction.
  virtual Status write_attributes(const std::vector<AttributeWrite>& writes,
                                  const std::vector<AuditEvent>& events) = 0;

  // Saves a new current policy with its audit event. With `expected_current`, only when the
  // current version's id is still that one (0: no policy stored yet); else a Discarded error.
  virtual Result<PolicyVersion> save_policy(PolicyVersion version, AuditEvent event,
                                            std::optional<std::int64_t> expected_current) = 0;
  virtual Result<std::optional<PolicyVersion>> current_policy() = 0;
  // Newest first, at most `limit`; texts included.
  virtual Result<std::vector<PolicyVersion>> policy_history(std::size_t limit) = 0;
  // The newest version saved with `origin` ("FILE": what the served policy file last said).
  virtual Result<std::optional<PolicyVersion>> last_policy_from(std::string_view origin) = 0;

  // Oldest first (a `limit` keeps the newest events).
  virtual Result<std::vector<AuditEvent>> audit_log(const AuditQuery& query) = 0;

  // API credentials. Inserts one with its audit events (none for OAuth access tokens); a Config
  // error when the id is taken.
  virtual Status create_credential(const ApiCredential& credential,
                                   const std::vector<AuditEvent>& events) = 0;
  virtual Result<std::optional<ApiCredential>> find_credential(std::string_view id) = 0;
  // Every credential of every kind, oldest first.
  virtual Result<std::vector<ApiCredential>> list_credentials() = 0;
  // Sets revoked_at = time on `id` and on the credentials whose parent is `id`, logs `event`;
  // false (nothing logged) when `id` does not exist or was already revoked.
  virtual Result<bool> revoke_credential(std::string_view id, std::int64_t time,
                                         const AuditEvent& event) = 0;
  virtual Status touch_credential(std::string_view id, std::int64_t time) = 0;  // last_used_at
  // Deletes the oauth-token credentials that expired before `time`.
  virtual Status purge_expired_tokens(std::int64_t time) = 0;
  // The oauth-token credentials `parent` obtained that are neither revoked nor expired at `time`
  // (expiring after it, as authentication counts them): how many, and the first to expire.
  virtual Result<LiveTokens> live_tokens(std::string_view parent, std::int64_t time) = 0;

  // Integration API tokens, readable only through these three (never by status or the API):
  // SQLite keeps them in `<db>.secrets/` files, PostgreSQL in its integration_tokens table.
  virtual Status save_token(std::string_view provider, std::string_view token) = 0;
  virtual Result<std::string> load_token(std::string_view provider) = 0;
  virtual Status delete_token(std::string_view provider) = 0;

  // A number that changes whenever another process (the CLI's `sync`, `attributes --set`,
  // `integrations remove`) has committed to a single-process store since it was last read:
  // SQLite's data_version, which this process's own commits leave alone. 0 where other writers'
  // changes arrive otherwise (PostgreSQL's change log).
  virtual Result<std::int64_t> outside_commits() { return std::int64_t{0}; }

  // Replication (PostgreSQL): every mutating call also appends to the change log, which other
  // replicas replay. A single-process store (SQLite) has none: shared() is false.
  [[nodiscard]] virtual bool shared() const { return false; }
  [[nodiscard]] virtual std::string replica_id() const { return {}; }
  // The id of the newest change (0: none).
  virtual Result<std::int64_t> change_position() { return std::int64_t{0}; }
  // Changes with id > `after`, oldest first, at most `limit`.
  virtual Result<std::vector<Change>> changes_after(std::int64_t /*after*/, std::size_t /*limit*/) {
    return std::vector<Change>{};
  }
};

// `postgresql://...` or `postgres://...`: a PostgreSQL connection URL, not a file path.
bool is_postgres_url(std::string_view db);
// `host=db1 password=...`: libpq's keyword/value form, which Postern does not take (it would be a
// SQLite file of that name). True when the text starts with one of libpq's connection keywords
// followed by `=`.
bool is_postgres_keywords(std::string_view db);
// Opens the store `db` names: a PostgreSQL URL, else an SQLite file path.
Result<std::unique_ptr<Store>> open_store(std::string_view db);
// Connects to PostgreSQL at `url` and applies pending schema migrations (one replica at a time).
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url);

// Opens (creating and migrating as needed) the SQLite store at `path` in WAL mode.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path);

// API tokens live outside the database in `<db>.secrets/<provider>.token`, directory 0700 and
// file 0600, so a copy of the database or its backups never carries them.
std::filesystem::path token_path(const std::filesystem::path& db_path, std::string_view provider);
Status write_token(const std::filesystem::path& db_path, std::string_view provider,
                   std::string_view token);
Result<std::string> read_token(const std::filesystem::path& db_path, std::string_view provider);
Status remove_token(const std::filesystem::path& db_path, std::string_view provider);

// A token written inside a store transaction (SQLite's files cannot join it): the token it
// replaces is kept aside as `<provider>.token.before-v<N>` (N: the row's config_version before
// the change, 0 for a new integration; an empty file when there was none) until keep(). Destroyed
// without keep(), it puts the previous token back. A crash between the two is settled at the next
// open by settle_staged_tokens, from the row's config_version.
class StagedToken {
 public:
  static Result<StagedToken> stage(const std::filesystem::path& db_path, std::string_view provider,
                                   std::string_view token, std::int64_t version_before);
  StagedToken(StagedToken&& other) noexcept;
  StagedToken& operator=(StagedToken&&) = delete;
  StagedToken(const StagedToken&) = delete;
  StagedToken& operator=(const StagedToken&) = delete;
  ~StagedToken();
  void keep() noexcept;  // the transaction committed

 private:
  StagedToken(std::filesystem::path final_path, std::filesystem::path aside_path);
  std::filesystem::path final_path_;
  std::filesystem::path aside_path_;  // empty once kept (or moved from)
};

// Whether anything staged, or a temporary, is left beside the tokens (settle_staged_tokens has
// work): read without the write lock, so that opening a store takes it only then.
bool has_staged_tokens(const std::filesystem::path& db_path);
// What a crash left between a token's staging and its transaction's end: each aside token whose
// integration still has the version it was set aside at (the change never committed) is put back;
// every other one, and every half-written temporary, is removed. `version_of(provider)` is the
// stored config_version, nullopt when no such integration exists.
void settle_staged_tokens(
    const std::filesystem::path& db_path,
    const std::function<std::optional<std::int64_t>(std::string_view provider)>& version_of);

// JSON text of an attribute value ("true", "3", "\"gold\"") and back.
std::string attr_to_json(const engine::AttrValue& value);
std::optional<engine::AttrValue> attr_from_json(std::string_view text);

}  // namespace postern::store
