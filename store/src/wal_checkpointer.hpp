#pragma once
// Checkpoints a SQLite database's write-ahead log on a thread of its own (docs/decisions.md H13).
// SQLite's default runs a checkpoint inside the commit that takes the log past 1,000 pages, and
// with synchronous=NORMAL a checkpoint ends in an fsync: every ~100th attribute write waited for
// the disk. Here the committing thread only signals; the checkpointer copies the log into the
// database on its own connection (PASSIVE: it never blocks a writer or a reader). Should it fall
// far behind, the committing thread checkpoints itself, so the log stays bounded.

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <thread>

namespace postern::store {

class WalCheckpointer {
 public:
  // Log size that wakes the checkpointer (SQLite's own default threshold), and the size at which
  // the committing thread checkpoints itself.
  static constexpr int kBackgroundPages = 1000;
  static constexpr int kInlinePages = 16 * kBackgroundPages;

  // Takes over checkpointing for `db`, the store's connection to `path`.
  WalCheckpointer(sqlite3* db, std::filesystem::path path);
  // Hands checkpointing back to `db` and stops the thread.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Blocks until the thread has finished `count` checkpoints, or `bound` passed (tests).
  bool wait_for_checkpoints(std::uint64_t count, std::chrono::milliseconds bound) const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void wake();
  void run();
  void checkpoint();

  sqlite3* db_;
  std::filesystem::path path_;
  sqlite3* own_ = nullptr;  // the thread's connection, opened on first use
  mutable std::mutex mu_;
  std::condition_variable wanted_;
  mutable std::condition_variable finished_;
  bool pending_ = false;
  bool stopping_ = false;
  std::uint64_t done_ = 0;
  std::thread thread_;  // started at the first signal: short-lived commands never start it
};

}  // namespace postern::store
