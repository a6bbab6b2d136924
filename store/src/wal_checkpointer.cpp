#include "wal_checkpointer.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace postern::store {

WalCheckpointer::WalCheckpointer(sqlite3* db, std::filesystem::path path)
    : db_(db), path_(std::move(path)) {
  sqlite3_wal_hook(db_, &WalCheckpointer::on_commit, this);  // replaces the automatic checkpoint
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(db_, kBackgroundPages);  // removes our hook
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wanted_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(own_);
  if (database_fd_ >= 0) ::close(database_fd_);
}

bool WalCheckpointer::wait_for_checkpoints(std::uint64_t count,
                                           std::chrono::milliseconds bound) const {
  std::unique_lock lock(mu_);
  return finished_.wait_for(lock, bound, [&] { return done_ >= count; });
}

std::uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return done_;
}

int WalCheckpointer::uncopied(int pages) const {
  const int copied = copied_.load(std::memory_order_relaxed);
  return pages >= copied ? pages - copied : pages;  // a smaller log has restarted from its start
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int pages) {
  auto& checkpointer = *static_cast<WalCheckpointer*>(self);
  checkpointer.log_.store(pages, std::memory_order_relaxed);
  // The thread is idle while it waits for this connection to copy the last frames (below).
  const bool restart_wanted = checkpointer.restart_wanted_.exchange(false);
  if (pages >= kInlinePages || restart_wanted) {
    // Far behind (a reader holding old frames, a slow disk), as SQLite itself would, or the few
    // frames the thread left: with every frame copied, the next write transaction of this
    // connection restarts the log. Tried once: a reader may hold frames back.
    checkpointer.copy_log(db, schema);
  } else if (checkpointer.uncopied(pages) >= kBackgroundPages) {
    checkpointer.wake();
  }
  return SQLITE_OK;
}

void WalCheckpointer::wake() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    pending_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wanted_.notify_one();
}

void WalCheckpointer::run() {
  std::unique_lock lock(mu_);
  while (true) {
    wanted_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    lock.unlock();
    if (const auto log = checkpoint(); log && *log >= kRestartPages) let_log_restart();
    lock.lock();
    // Signals sent while it ran are dropped: the next commit asks again if enough is left.
    pending_ = false;
    ++done_;
    finished_.notify_all();
  }
}

void WalCheckpointer::let_log_restart() {
  for (int round = 0; round < kCatchUpRounds; ++round) {
    if (uncopied(log_.load(std::memory_order_relaxed)) <= kHandedFrames) break;
    if (!checkpoint()) return;
  }
  // Only the committing thread copies between two of its transactions; it pays a few frames and
  // an fsync once per kRestartPages. Until then no commit wakes this thread.
  restart_wanted_.store(true);
}

void WalCheckpointer::flush_database() {
  // SQLite syncs the database only at the end of a checkpoint that reaches the end of the log,
  // which one running beside commits rarely does: the pages it copied stayed dirty until the
  // committing thread's checkpoint (when it lets the log restart) flushed them all, and every
  // answer waited for that. Flushed here, off that thread, that checkpoint has little left.
  if (database_fd_ < 0) database_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (database_fd_ >= 0) ::fdatasync(database_fd_);
}

bool WalCheckpointer::open_own() {
  if (own_ != nullptr) return true;
  // A new connection opens the log only once it has read the schema; until then a checkpoint
  // on it does nothing.
  if (sqlite3_open_v2(path_.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) ==
          SQLITE_OK &&
      sqlite3_exec(own_, "PRAGMA schema_version", nullptr, nullptr, nullptr) == SQLITE_OK) {
    return true;
  }
  sqlite3_close_v2(own_);  // retried at the next signal; the inline bound still holds
  own_ = nullptr;
  return false;
}

std::optional<int> WalCheckpointer::copy_log(sqlite3* db, const char* schema) {
  int log = 0;
  int copied = 0;
  if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) !=
      SQLITE_OK) {
    return std::nullopt;  // busy (another checkpoint runs) or failed: nothing is known
  }
  copied_.store(copied, std::memory_order_relaxed);
  return log;
}

std::optional<int> WalCheckpointer::checkpoint() {
  if (!open_own()) return std::nullopt;
  const auto log = copy_log(own_, nullptr);
  if (log) flush_database();
  return log;
}

}  // namespace postern::store
