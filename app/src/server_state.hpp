#pragma once
// The live state `postern serve` answers from. Readers (the HTTP worker threads) take view(): an
// immutable View holding one engine snapshot, copied out under a lock held only for a pointer
// swap, so they never wait for a writer's work.
// Writers (API attribute writes, the sync's changes, expiry ticks, policy and inventory reloads)
// are serialised by one mutex; each applies its change to the Engine and publishes a new View.
//
// Attributes come in two layers: the inventory file's, and the overlay laid over it (spec
// inventory.md; sync/overlay.hpp): with --db the store's attributes (synced kandji:*, API-set
// custom:*), without it the API-set ones held in memory.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/sync/matcher.hpp"
#include "postern/sync/store.hpp"
#include "server_log.hpp"

namespace postern::server {

using ExpiryMap = std::map<std::string, std::int64_t, std::less<>>;
// Devices with at least one expiring attribute (the engine keeps expiries private).
using ExpiryTable = std::map<engine::DeviceIndex, ExpiryMap>;

struct View {
  std::shared_ptr<const engine::Snapshot> snapshot;
  std::shared_ptr<const ExpiryTable> expiries;
  std::uint64_t policy_version = 0;                 // 1 at start, +1 per successful reload
  std::int64_t policy_loaded_at = 0;                // Unix seconds of the last compile
  std::chrono::steady_clock::time_point published;  // when this view replaced the previous one
};

struct ServerPaths {
  std::string policy;
  std::string tailnet;
  std::optional<std::filesystem::path> db;
};

// The outcome of an API write: 200, or an HTTP status with an error code and message.
struct WriteResult {
  int status = 200;
  std::string code;
  std::string message;
};

enum class ReloadOutcome { Unchanged, Reloaded, Rejected };

std::int64_t unix_now();

class LiveState {
 public:
  // Load the inventory, the store's attributes (--db) and the policy (validated, its tests run),
  // then compile. nullptr when any of it fails; `errors` then holds every reason, diagnostics
  // rendered at file:line:col.
  static std::unique_ptr<LiveState> open(ServerPaths paths, Log& log, std::string& errors);
  ~LiveState();
  LiveState(const LiveState&) = delete;
  LiveState& operator=(const LiveState&) = delete;

  [[nodiscard]] std::shared_ptr<const View> view() const noexcept;
  [[nodiscard]] sync::Store* store() noexcept { return store_.get(); }
  [[nodiscard]] const ServerPaths& paths() const noexcept { return paths_; }

  // Recompile from the files when either changed since the last load (or always, when `force`).
  // A file that does not load, an invalid policy or failing policy tests are logged and
  // rejected: the previous policy keeps serving.
  ReloadOutcome reload(bool force);
  // Apply to the engine whatever changed in the store since it was last read (a sync in this
  // process or another). Returns the number of devices changed.
  std::size_t refresh_from_store();
  // Let attributes whose expiry has passed take effect.
  std::size_t advance_time();

  // API writes of custom:* attributes (key and value already checked by server_attributes).
  WriteResult set_attribute(std::string_view device, const std::string& key,
                            const engine::AttrValue& value, std::optional<std::int64_t> expiry,
                            const std::string& comment);
  WriteResult delete_attribute(std::string_view device, const std::string& key,
                               const std::string& comment);

  // The tailnet nodes a sync matches provider devices against.
  [[nodiscard]] std::vector<sync::TailnetNode> tailnet_nodes() const;

 private:
  struct FileStamp {
    std::filesystem::file_time_type mtime{};
    std::uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Loaded;  // one successful read of both files

  LiveState(ServerPaths paths, Log& log);
  std::optional<Loaded> load_files(std::string& errors) const;
  void install(Loaded loaded);  // compile or recompile, then publish (writer lock held)
  void publish_locked();
  void record_expiries(engine::DeviceIndex device, std::span<const engine::AttrChange> changes);
  [[nodiscard]] std::optional<engine::AttrChange> file_value(engine::DeviceIndex device,
                                                             const std::string& key) const;
  std::optional<FileStamp> stamp(const std::string& path) const;

  ServerPaths paths_;
  Log& log_;
  std::unique_ptr<sync::Store> store_;

  std::mutex writer_;
  std::unique_ptr<engine::Engine> engine_;
  engine::Inventory base_;        // the inventory file, before the overlay
  sync::AttributeTable overlay_;  // store contents (--db) or API-set attributes
  std::unordered_map<std::string, engine::DeviceIndex> by_key_;  // nodeId and id -> device
  std::shared_ptr<const ExpiryTable> expiries_;
  std::uint64_t version_ = 0;
  std::int64_t loaded_at_ = 0;
  std::optional<FileStamp> policy_stamp_;
  std::optional<FileStamp> tailnet_stamp_;

  // Guards only the pointer copy and swap (never held while compiling or applying), so readers
  // never wait for a writer's work. Not std::atomic<std::shared_ptr>: libstdc++ 12's load()
  // releases its internal lock with memory_order_relaxed, a race ThreadSanitizer reports
  // against every store.
  mutable std::mutex view_mu_;
  std::shared_ptr<const View> view_;
};

}  // namespace postern::server
