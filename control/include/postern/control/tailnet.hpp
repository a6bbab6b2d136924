#pragma once
// The control plane: the tailnet's state (policy and its versions, inventory, posture attributes,
// integrations, audit log) and one function per user action. The CLI, the HTTP API and the
// console parse their input, call one of these and format what comes back; every rule, audit
// event and store write lives here.
//
// Each change is validated, audited, stored and applied to the live evaluator in one step, under
// one writer lock. Readers (checks) take the current engine snapshot and never wait for a writer.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "postern/control/actor.hpp"
#include "postern/control/api_access.hpp"
#include "postern/control/outcome.hpp"
#include "postern/engine/engine.hpp"
#include "postern/engine/policy_load.hpp"
#include "postern/store/store.hpp"
#include "postern/sync/clock.hpp"
#include "postern/sync/http_transport.hpp"
#include "postern/sync/records.hpp"
#include "postern/sync/sync_engine.hpp"

namespace postern::control {

// The store file the CLI and `postern serve` use when --db is not given, and the audit-log
// filter: front ends name them through control, never the store.
inline constexpr std::string_view kDefaultDbPath = store::kDefaultDbPath;
using AuditQuery = store::AuditQuery;

enum class LogLevel : std::uint8_t { debug, info, error };

struct TailnetOptions {
  // The inventory file (devices, users, inventory attributes). Without one the tailnet has no
  // devices: integrations and the audit log can be managed, but nothing syncs.
  std::optional<std::string> tailnet_path;
  // The policy file. With a store it seeds the stored policy and, when it changes, is saved as a
  // new version; without `store_policy_file` (CLI checks) it is used as given and never stored.
  std::optional<std::string> policy_path;
  bool store_policy_file = true;
  std::optional<std::filesystem::path> db;  // the store; none: state lives in memory only
  bool create_db = true;                    // false: a missing store file is an error
  // A server (`postern serve`): on a SQLite store it takes the store's server lock, so that a
  // second server on the same file is refused (C774). The CLI's commands run beside it.
  bool sole_server = false;
  sync::Clock* clock = nullptr;              // default: the system clock
  sync::HttpTransport* transport = nullptr;  // default: libcurl (syncs only)
  sync::EngineOptions sync_options;
  std::chrono::seconds sync_interval{15 * 60};
  std::chrono::seconds sync_jitter{30};  // next run = last + interval ± jitter (≤ interval/10)
  // "Sync now" through the scheduler starts at most one run per this much time after the last
  // run ended (each run spends the provider's hourly request budget); 0: at once every time.
  std::chrono::seconds sync_now_spacing{30};
  // Replicas on a PostgreSQL store: how often to try for the sync lease, check it is still
  // held, and reconnect a lost change listener.
  std::chrono::milliseconds replica_retry{5000};
  // Where to report what happened in the background (syncs, reloads, replicated changes); may be
  // empty. Debug lines come once per change followed from the shared store.
  std::function<void(LogLevel level, const std::string& line)> log;
};

// The policy as served.
// The policy a new tailnet has until one is saved (Tailscale's default: everyone reaches
// everything in the tailnet).
extern const std::string_view kDefaultPolicy;

struct PolicyState {
  std::string path;          // a label for messages: the file name, or "policy.hujson" when stored
  std::string text;          // exactly as written, comments kept
  std::int64_t version = 0;  // store version id; 0 when not stored (the file's or the default)
  bool is_default = false;   // kDefaultPolicy, never saved
  std::int64_t loaded_at = 0;
  std::uint64_t generation = 0;  // +1 per install (policy or inventory), for caches
};

// A policy checked without being installed: every diagnostic and the test outcome.
struct PolicyVerdict {
  engine::LoadedPolicy loaded;
  std::optional<engine::TestRunResult> tests;  // run when the policy is valid
  [[nodiscard]] bool accepted() const { return loaded.ok() && (!tests || tests->passed); }
};

// The one verdict on a policy text, as Tailscale gives it on save: every diagnostic, then (when
// valid) its `tests` against `inventory` (synthetic devices when null), judged at `now`.
PolicyVerdict judge_policy(std::string path, std::string text, const engine::Inventory* inventory,
                           std::int64_t now);

enum class ReloadOutcome : std::uint8_t { Unchanged, Reloaded, Rejected };

// One attribute of one device as the console and the API show it.
struct AttributeView {
  std::string key;
  engine::AttrValue value;
  std::string source;  // "node" (built in), "inventory", "api", or a provider id ("kandji")
  std::optional<std::int64_t> updated_at;
  std::optional<std::int64_t> expires_at;
};

struct DeviceAttributesView {
  engine::DeviceIndex device = 0;
  std::string device_key;                 // nodeId, else id
  std::vector<AttributeView> attributes;  // by key; expired ones left out
};

// One attribute edit of a batch: no value deletes.
struct AttributeEdit {
  std::string device;
  std::string key;
  std::optional<engine::AttrValue> value;
  std::optional<std::int64_t> expiry;
};

// An integration with its status, as `integrations status`, the API and the console show it.
struct IntegrationView {
  sync::Integration integration;
  sync::SyncStatus status;
  bool token_set = false;
  // "ok", "pending" (never synced), "failing", "paused" (auth failure) or "stale" (24 h).
  std::string state;
  // No successful sync for over 24 h, whatever the state (a long outage is "failing" too).
  bool stale = false;
  bool running = false;  // a sync of it is in flight in this process's scheduler
};

struct IntegrationChange {
  std::optional<std::string> url;
  std::optional<std::string> token;  // held only until written to the secret store
};

struct SyncRun {
  sync::Integration integration;
  sync::SyncReport report;
};

// What "sync now" did: ran the sync in this thread (`run`), or made it due for the scheduler at
// `starts_at` (unix seconds): now, or later when the last run ended under sync_now_spacing ago;
// none while a run is in flight (the next follows it by sync_now_spacing).
struct SyncNowAnswer {
  std::optional<SyncRun> run;
  std::optional<std::int64_t> starts_at;
};

class Tailnet {
 public:
  // Loads the inventory, opens the store, installs the policy (the file's, else the store's,
  // else Tailscale's default allow-all policy) after validating it and running its tests.
  static Outcome<std::unique_ptr<Tailnet>> open(TailnetOptions options);
  ~Tailnet();
  Tailnet(const Tailnet&) = delete;
  Tailnet& operator=(const Tailnet&) = delete;

  // ---- reading ----
  [[nodiscard]] std::shared_ptr<const engine::Snapshot> snapshot() const noexcept;
  [[nodiscard]] PolicyState policy() const;
  // The inventory file with the stored attributes laid over it (shared: never changed).
  [[nodiscard]] std::shared_ptr<const engine::Inventory> effective_inventory() const;
  [[nodiscard]] bool has_store() const noexcept { return store_ != nullptr; }
  // On a shared (PostgreSQL) store: whether this replica holds the sync lease.
  [[nodiscard]] bool holds_sync_lease() const;
  // Whether this server is one replica of several on a shared (PostgreSQL) store.
  [[nodiscard]] bool is_replica() const noexcept;
  [[nodiscard]] std::int64_t now() const;
  // Attribute writes applied to the live evaluator since open() (API, sync, replicas): a metric.
  [[nodiscard]] std::uint64_t attribute_changes() const noexcept;
  [[nodiscard]] sync::Clock& clock() const noexcept { return *clock_; }

  // ---- policy ----
  // Validate, run the tests, store a new version, swap, audit. `expected_version` (the version
  // the caller read) makes it conditional: someone else's save meanwhile is a Precondition error.
  // On rejection `verdict` (when given) receives the diagnostics and test failures.
  Outcome<PolicyState> replace_policy(std::string text, const Actor& actor,
                                      std::optional<std::int64_t> expected_version = {},
                                      PolicyVerdict* verdict = nullptr);
  // Check `text` against the current inventory without installing it.
  [[nodiscard]] PolicyVerdict validate_policy(std::string text, std::string path) const;
  [[nodiscard]] Outcome<std::vector<store::PolicyVersion>> policy_history(std::size_t limit) const;
  // Re-read the inventory and policy files when they changed (or always when `force`). A file
  // that does not load, or a policy that is invalid or fails its tests, is rejected and the
  // current state keeps serving; `error` says why.
  ReloadOutcome reload_files(bool force, std::string* error = nullptr);

  // ---- attributes ----
  [[nodiscard]] Outcome<DeviceAttributesView> device_attributes(std::string_view device) const;
  Outcome<DeviceAttributesView> set_attribute(std::string_view device, const std::string& key,
                                              const engine::AttrValue& value,
                                              std::optional<std::int64_t> expiry,
                                              const std::string& comment, const Actor& actor);
  Outcome<DeviceAttributesView> delete_attribute(std::string_view device, const std::string& key,
                                                 const std::string& comment, const Actor& actor);
  // All edits or none (Tailscale's PATCH device-attributes), one audit event per device.
  // Edits from concurrent callers are stored in one transaction and applied together (group
  // commit); each call returns once its edits are stored and visible to checks.
  Done edit_attributes(const std::vector<AttributeEdit>& edits, const std::string& comment,
                       const Actor& actor);
  // The same without blocking the caller: the edits are validated and queued here, and
  // `finished` is called once they are stored and applied, on the commit thread (here, at once,
  // when they are refused or change nothing). For servers, whose threads must not wait.
  void edit_attributes_async(const std::vector<AttributeEdit>& edits, const std::string& comment,
                             const Actor& actor, std::function<void(const Done&)> finished);
  // set_attribute / delete_attribute without blocking (read the device's attributes afterwards
  // with device_attributes, on the caller's own thread).
  void set_attribute_async(std::string_view device, const std::string& key,
                           const engine::AttrValue& value, std::optional<std::int64_t> expiry,
                           const std::string& comment, const Actor& actor,
                           std::function<void(const Done&)> finished);
  void delete_attribute_async(std::string_view device, const std::string& key,
                              const std::string& comment, const Actor& actor,
                              std::function<void(const Done&)> finished);
  // Let attributes whose expiry has passed take effect; returns how many devices changed.
  std::size_t advance_time();
  // Apply the attribute changes other processes committed to a single-process store (the CLI's
  // `sync`, `attributes --set`, `integrations remove`) since the last call: the stored values'
  // difference from the live ones. Cheap when nothing changed (servers call it every second);
  // returns the writes applied. A shared store's changes arrive through its change log instead.
  std::size_t follow_store();

  // ---- integrations ----
  [[nodiscard]] Outcome<std::vector<IntegrationView>> integrations() const;
  [[nodiscard]] Outcome<IntegrationView> integration(std::string_view provider) const;
  // Create or update, then sync at once (in the background when the scheduler runs, else here).
  Outcome<IntegrationView> create_integration(const std::string& provider, const std::string& url,
                                              const std::string& token, const Actor& actor);
  Outcome<IntegrationView> update_integration(const std::string& provider,
                                              const IntegrationChange& change, const Actor& actor);
  // Deletes the integration, every attribute it wrote and its token.
  Done delete_integration(const std::string& provider, const Actor& actor);
  // Sync one integration now: in this thread when no scheduler runs here (the CLI), else made due
  // in the store for the scheduler (this process's, or a replica's lease holder), at once or
  // sync_now_spacing after the last run; a request during a run adds one run after it.
  Outcome<SyncNowAnswer> sync_now(const std::string& provider);
  // Sync every integration that is not paused, in this thread (`postern sync --once`).
  Outcome<std::vector<SyncRun>> sync_all_now();
  // Run the schedule (every sync_interval with jitter; at once after a create or change) on
  // background threads until stop_syncing(). `on_run` sees each finished run.
  void start_syncing(std::function<void(const SyncRun&)> on_run = {});
  void stop_syncing();

  // ---- audit ----
  [[nodiscard]] Outcome<std::vector<sync::AuditEvent>> audit(const store::AuditQuery& query) const;

  // ---- API access: keys, OAuth clients, access tokens (api_access.hpp) ----
  Outcome<NewCredential> create_key(const NewCredentialRequest& request, const Actor& actor);
  // Access keys and OAuth clients, revoked and expired ones included, oldest first.
  [[nodiscard]] Outcome<std::vector<CredentialView>> list_keys() const;
  // Revokes a key or an OAuth client (and the tokens it obtained).
  Done revoke_key(std::string_view id, const Actor& actor);
  // Who `token` speaks for now: an Invalid error (K830) when it is malformed, unknown, wrong,
  // expired or revoked; Unavailable when the store fails.
  Outcome<Authenticated> authenticate(std::string_view token);
  // The client-credentials grant: a one-hour token with `scopes` (empty: the client's own), which
  // must be among the client's. K834 when the client does not authenticate, K831 for a scope.
  Outcome<AccessToken> issue_access_token(std::string_view client_id,
                                          std::string_view client_secret,
                                          const std::vector<std::string>& scopes);

  struct Impl;  // implementation detail (control/src/tailnet_impl.hpp)

 private:
  explicit Tailnet(TailnetOptions options);
  friend struct Impl;
  SyncNowAnswer sync_here(const sync::Integration& integration);  // sync_now without a scheduler

  TailnetOptions options_;
  std::unique_ptr<sync::Clock> own_clock_;
  sync::Clock* clock_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postern::control
