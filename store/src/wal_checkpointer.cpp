#include "wal_checkpointer.hpp"

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
}

bool WalCheckpointer::wait_for_checkpoints(std::uint64_t count,
                                           std::chrono::milliseconds bound) const {
  std::unique_lock lock(mu_);
  return finished_.wait_for(lock, bound, [&] { return done_ >= count; });
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int pages) {
  if (pages >= kInlinePages) {
    // Far behind (a reader holding old frames, a slow disk): as SQLite itself would.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kBackgroundPages) {
    static_cast<WalCheckpointer*>(self)->wake();
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
    pending_ = false;
    lock.unlock();
    checkpoint();
    lock.lock();
    ++done_;
    finished_.notify_all();
  }
}

void WalCheckpointer::checkpoint() {
  // A new connection opens the log only once it has read the schema; until then a checkpoint
  // on it does nothing.
  if (own_ == nullptr &&
      (sqlite3_open_v2(path_.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                       nullptr) != SQLITE_OK ||
       sqlite3_exec(own_, "PRAGMA schema_version", nullptr, nullptr, nullptr) != SQLITE_OK)) {
    sqlite3_close_v2(own_);  // retried at the next signal; the inline bound still holds
    own_ = nullptr;
    return;
  }
  sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

}  // namespace postern::store
