#pragma once
// Tailnet's private state, shared by the files that implement its operations.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "attribute_stage.hpp"
#include "credential_cache.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/sync/scheduler.hpp"
#include "server_lock.hpp"
#include "tailnet_replication.hpp"

namespace postern::control {

class Replicator;

struct FileStamp {
  std::filesystem::file_time_type mtime{};
  std::uintmax_t size = 0;
  bool operator==(const FileStamp&) const = default;
};
std::optional<FileStamp> stamp_of(const std::string& path);

// The sync's view of the world: reads go to the store; a sync's change set is committed to the
// store and exactly its writes are applied to the live evaluator (no re-read, no re-diff).
class LiveLedger final : public sync::SyncLedger {
 public:
  explicit LiveLedger(Tailnet::Impl& impl) : impl_(impl) {}
  sync::Result<std::vector<sync::Integration>> list_integrations() override;
  sync::Result<std::optional<sync::Integration>> find_integration(
      std::string_view provider) override;
  sync::Result<sync::AttributeTable> load_attributes() override;
  sync::Result<sync::SyncStatus> load_status(std::int64_t integration_id) override;
  sync::Result<sync::SyncStatus> edit_status(
      std::int64_t integration_id, const std::function<void(sync::SyncStatus&)>& edit) override;
  sync::Status commit_sync(const sync::SyncCommit& commit) override;

 private:
  Tailnet::Impl& impl_;
};

// One device's API edits as its audit event tells them. Kept as data while staged and formatted
// into the event's JSON by the committer, outside the writer lock, only when a store keeps it.
struct AttributeAudit {
  struct Change {
    std::string key;
    std::optional<engine::AttrValue> old_value;
    std::optional<engine::AttrValue> new_value;
    std::optional<std::int64_t> expiry;
  };
  std::int64_t time = 0;
  std::string actor;
  std::string origin;
  std::string device_key;
  std::string hostname;
  std::string comment;
  std::vector<Change> changes;
};

// The audit events of `audits` (action kActionNodeAttribute, target `node:<key>`).
std::vector<sync::AuditEvent> attribute_audit_events(const std::vector<AttributeAudit>& audits);

// API attribute edits that commit together (group commit, decisions H12): one store
// transaction and one application to the evaluator for every edit that arrived meanwhile.
struct AttributeBatch {
  struct Result {
    bool done = false;
    std::optional<Error> error;
  };
  std::uint64_t id = 0;
  std::vector<sync::AttributeWrite> writes;
  std::vector<AttributeAudit> audits;
  std::shared_ptr<Result> result;
  std::vector<std::function<void(const Done&)>> waiters;  // asynchronous edits, told when done
};

struct Tailnet::Impl {
  Impl(Tailnet& owner) : self(owner), ledger(*this) {}

  Tailnet& self;
  std::mutex writer;  // serialises every change; readers never take it
  std::unique_ptr<engine::Engine> engine;
  // The inventory file, before the overlay; shared (never copied) with the engine while no
  // stored attribute lies over it.
  std::shared_ptr<const engine::Inventory> base = std::make_shared<const engine::Inventory>();
  sync::AttributeTable overlay;  // stored attributes (or API-set ones held in memory)
  PolicyState policy;
  std::optional<FileStamp> policy_stamp;
  // The policy file's text when last read: a reload replaces the served policy only when the
  // file says something else (touching it, or restoring it unchanged, keeps an API save).
  std::optional<std::string> policy_file_text;
  std::optional<FileStamp> tailnet_stamp;
  // The store's outside_commits() when follow_store last read it; none: never read.
  std::optional<std::int64_t> outside_stamp;
  mutable std::mutex policy_mu;                    // guards `policy` for readers
  std::atomic<std::uint64_t> attribute_writes{0};  // applied by apply_writes, for metrics
  // Attribute writes applied while a policy compiles outside the writer lock, which it replays onto
  // what it compiled (writer held; kept only while such a compile runs). Decisions H45.
  // Each reader's first batch to replay: what every reader has passed is dropped.
  std::uint64_t write_batches_applied = 0;
  std::multiset<std::uint64_t> write_log_readers;
  std::deque<std::pair<std::uint64_t, std::vector<sync::AttributeWrite>>> write_log;
  // When expired OAuth tokens were last purged: at most once a minute, as the purge scans them.
  std::atomic<std::int64_t> tokens_purged_at{0};

  // Group commit: `staged` and `open_batch` under `writer`; `leading` under `commit_mu`.
  AttributeStage staged;      // accepted edits not yet applied, which later edits see
  AttributeBatch open_batch;  // the batch new edits join
  std::uint64_t next_batch = 1;
  std::mutex commit_mu;
  std::condition_variable batch_done;
  bool leading = false;  // a request or the committer thread is committing a batch
  // The committer thread commits batches of asynchronous edits (started by the first one).
  std::thread committer;
  std::condition_variable work;
  bool work_pending = false;
  bool committer_stop = false;

  CredentialCache credentials;  // read from the store: authenticates while it is unavailable

  LiveLedger ledger;
  std::unique_ptr<sync::HttpTransport> own_transport;
  std::unique_ptr<sync::SyncEngine> sync_engine;
  std::unique_ptr<sync::Scheduler> scheduler;
  std::thread scheduler_thread;
  std::function<void(const SyncRun&)> on_run;
  std::mutex scheduler_mu;  // guards starting and stopping the schedule
  // Between start_syncing and stop_syncing: this process keeps the schedule (or, on a replica,
  // takes its turn), so its next runs are as its own interval reads the stored slots.
  std::atomic<bool> schedules{false};
  // What a sync recorded that the store could not keep (its status write failed: a full disk),
  // shown over the stored status until a later attempt is stored (decisions SY15).
  struct UnsavedStatus {
    sync::SyncStatus status;
    std::optional<sync::SyncStatus> base;  // what the store held then (none: unreadable too)
  };
  mutable std::mutex unsaved_mu;
  mutable std::map<std::int64_t, UnsavedStatus> unsaved_status;

  std::optional<ServerLock> server_lock;  // TailnetOptions::sole_server on a SQLite store

  // Last: stopped (by its destructor) before anything it uses goes away.
  std::unique_ptr<Replicator> replicator;  // a shared (PostgreSQL) store only

  // Compile `loaded` over `effective` (`inventory` with the overlay laid over it: the one the
  // policy was judged against, not built twice) and publish (writer held).
  void install(std::shared_ptr<const engine::Inventory> inventory,
               std::shared_ptr<const engine::Inventory> effective,
               const engine::LoadedPolicy& loaded, PolicyState state);
  // The inventory file with the stored attributes laid over it (what checks see): `base` itself
  // when no stored attribute lies over it, else a copy with the overlay applied.
  [[nodiscard]] std::shared_ptr<const engine::Inventory> effective_inventory() const;
  // Apply stored writes to the evaluator and the overlay (writer held).
  void apply_writes(const std::vector<sync::AttributeWrite>& writes);
  // Only their effect on the evaluator, as apply_writes has it (writer held).
  void apply_to_engine(const std::vector<sync::AttributeWrite>& writes);
  // That effect as change sets by device, resolved on the current snapshot (writer held), and
  // the engine's view of them (valid while `changes` lives).
  using EngineChanges = std::map<engine::DeviceIndex, std::vector<engine::AttrChange>>;
  [[nodiscard]] EngineChanges engine_changes(const std::vector<sync::AttributeWrite>& writes) const;
  static std::vector<engine::DeviceChanges> as_batch(const EngineChanges& changes);
  // Swap in a policy compiled outside the writer lock over `base` as it still is, then replay
  // the writes logged since `log_from` (writer held).
  void install_prepared(engine::PreparedReload prepared, PolicyState state, std::uint64_t log_from);
  // The state readers see as the policy in force, from now on (writer held).
  void serve_policy_state(PolicyState state, std::int64_t loaded_at);
  class WriteLogReader;  // registers for write_log (tailnet_policy.cpp)
  // The inventory file's own value of `key` on `device`, as a change that restores it.
  [[nodiscard]] std::optional<engine::AttrChange> file_value(engine::DeviceIndex device,
                                                             const std::string& key) const;
  // A stored policy version another replica saved: loaded (its tests ran on save) and installed
  // over the current inventory; one that does not load here is logged and not installed.
  void install_stored_policy(std::int64_t version, const std::string& text);
  // After a store write (writer held): on a shared store, replay the change log up to and
  // including this write, so every replica applies changes in the same order; else apply
  // `writes` directly.
  void publish(const std::vector<sync::AttributeWrite>& writes);
  // Validates `edits` against the live state and the staged edits, and adds them to the open
  // batch (with `waiter`, when given); nullptr when they change nothing.
  Outcome<std::shared_ptr<AttributeBatch::Result>> stage_edits(
      const std::vector<AttributeEdit>& edits, const std::string& comment, const Actor& actor,
      std::function<void(const Done&)> waiter);
  // Adds a validated edit (its writes, audit events and staged view) to the open batch and
  // returns the result it will share (writer held).
  std::shared_ptr<AttributeBatch::Result> join_batch(std::vector<sync::AttributeWrite> writes,
                                                     std::vector<AttributeAudit> audits,
                                                     const AttributeStage& edit);
  // Waits until the batch is committed and applied, committing it (and whatever joined it)
  // when no other request is committing; its error when it could not be stored.
  Done await_batch(const std::shared_ptr<AttributeBatch::Result>& result);
  // Commits the open batch as the leader (commit_mu held by `lock`, released meanwhile) and
  // tells its callers.
  void lead_commit(std::unique_lock<std::mutex>& lock);
  // Has the committer thread commit the open batch soon (starting it the first time).
  void request_commit();
  // Commits what is left and stops the committer thread.
  void stop_committer();
  // The schedule on background threads (the lease holder's, or the only process's).
  void start_scheduler();
  void stop_scheduler();
  void log(LogLevel level, const std::string& line) const;
  [[nodiscard]] store::Store& store() const { return *self.store_; }
  // The stored status with a newer attempt the store could not keep laid over it.
  [[nodiscard]] sync::Result<sync::SyncStatus> load_status(std::int64_t integration_id) const;
  // Remembers `status` when writing it failed other than by the integration's removal; forgets
  // the integration's unsaved attempt once a write succeeds.
  void note_status_write(std::int64_t integration_id, const sync::SyncStatus& status,
                         const sync::Status& written);
  sync::SyncEngine& syncer();
  [[nodiscard]] sync::SchedulerOptions schedule_options() const;
  std::vector<sync::TailnetNode> nodes();
};

// Loading both files: the inventory, then the policy validated against it and its tests run.
struct LoadedFiles {
  std::shared_ptr<const engine::Inventory> inventory = std::make_shared<const engine::Inventory>();
  std::optional<FileStamp> tailnet_stamp;
  std::optional<FileStamp> policy_stamp;
  std::optional<std::string> policy_text;  // when a policy file is configured
};
Outcome<LoadedFiles> load_files(const TailnetOptions& options);
Outcome<engine::Inventory> load_inventory_file(const std::string& path);
// `base` with `overlay` laid over it; `base` itself (shared, not copied) when there is nothing.
std::shared_ptr<const engine::Inventory> with_overlay(std::shared_ptr<const engine::Inventory> base,
                                                      const sync::AttributeTable& overlay);
// Validate `text` and run its tests against `inventory`; an error renders every diagnostic.
Outcome<engine::LoadedPolicy> accept_policy(const std::string& path, std::string text,
                                            const engine::Inventory& inventory, std::int64_t now);
// Every diagnostic as `path:line:col: error[CODE]: message` text (design.md §5).
std::string render_diagnostics(const grammar::SourceFile& file,
                               const std::vector<grammar::Diagnostic>& diags);

}  // namespace postern::control
