#pragma once
// What replicas on a shared (PostgreSQL) store need besides the Store: a dedicated connection
// that LISTENs for change-log announcements, and a dedicated connection holding the sync lease.
// Each owns its own connection, so neither waits on, nor is lost with, the store's.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "postern/sync/result.hpp"

namespace postern::store {

// One NOTIFY: a change-log row was committed.
struct ChangeNotice {
  std::int64_t id = 0;
  std::string kind;
  std::string origin;
};

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // (Re)connects and LISTENs. Call before reading anything the notices will update.
  virtual sync::Status listen() = 0;
  // Notices received within `bound` (empty when none). An error means the connection was lost:
  // listen() again, then catch up from the change log.
  virtual sync::Result<std::vector<ChangeNotice>> wait(std::chrono::milliseconds bound) = 0;
  // Thread-safe: makes a concurrent wait() return at once (for shutdown).
  virtual void wake() = 0;
};

class SyncLease {
 public:
  virtual ~SyncLease() = default;
  // True when this replica holds the lease (now or already). PostgreSQL releases it the moment
  // the holder's connection ends, e.g. when the process is killed.
  virtual sync::Result<bool> try_acquire() = 0;
  // Whether the lease is still held: false after the connection was lost (the lock went with
  // it), so the caller must stop syncing at once.
  virtual bool still_held() = 0;
  virtual void release() = 0;
};

// For a postgresql:// URL; they connect lazily (listen(), try_acquire()).
std::unique_ptr<ChangeListener> make_change_listener(std::string url);
std::unique_ptr<SyncLease> make_sync_lease(std::string url);

}  // namespace postern::store
