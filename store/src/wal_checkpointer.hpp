#pragma once
// Checkpoints a SQLite database's write-ahead log on a thread of its own (docs/decisions.md H13,
// H16). SQLite's default runs a checkpoint inside the commit that takes the log past 1,000 pages,
// and with synchronous=NORMAL a checkpoint ends in an fsync: every ~100th attribute write waited
// for the disk. Here the committing thread only signals; the checkpointer copies the log into the
// database on its own connection (PASSIVE: it never blocks a writer or a reader).
// The thread is woken by the frames it has not copied yet, not by the log's size: a log only
// restarts from its start when a write transaction begins with every frame copied, which a
// checkpoint running beside back-to-back commits never sees, so the size stays above the
// threshold and waking on it meant a checkpoint (and an fsync) after nearly every commit. To let
// the log restart, once it is long the thread copies until few frames are left and asks the
// committing thread to copy those after its next commit, before its next transaction (which then
// restarts the log). Should it still fall far behind, the committing thread checkpoints all of it
// itself, so the log stays bounded.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace postern::store {

class WalCheckpointer {
 public:
  // Frames not yet copied that wake the checkpointer (SQLite's own default threshold), the log
  // size from which it lets the log restart, and the size at which the committing thread
  // checkpoints itself.
  static constexpr int kBackgroundPages = 1000;
  static constexpr int kRestartPages = 8 * kBackgroundPages;
  static constexpr int kInlinePages = 16 * kBackgroundPages;
  // Frames left that the thread hands to the committing thread, and the rounds it takes at most
  // to get there.
  static constexpr int kHandedFrames = 64;
  static constexpr int kCatchUpRounds = 4;

  // Takes over checkpointing for `db`, the store's connection to `path`.
  WalCheckpointer(sqlite3* db, std::filesystem::path path);
  // Hands checkpointing back to `db` and stops the thread.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Blocks until the thread has finished `count` checkpoints, or `bound` passed (tests).
  bool wait_for_checkpoints(std::uint64_t count, std::chrono::milliseconds bound) const;
  // Checkpoints the thread has finished (tests).
  std::uint64_t checkpoints() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  // Frames of a log of `pages` that no checkpoint has copied yet.
  int uncopied(int pages) const;
  void wake();
  void let_log_restart();
  void run();
  bool open_own();
  void flush_database();
  // A PASSIVE checkpoint of `db` that records how far it copied; the log's size in frames, or
  // nullopt if nothing was done.
  std::optional<int> copy_log(sqlite3* db, const char* schema);
  // The thread's checkpoint: copies what it can on its own connection, then flushes the database.
  std::optional<int> checkpoint();

  sqlite3* db_;
  std::filesystem::path path_;
  sqlite3* own_ = nullptr;  // the thread's connection, opened on first use
  int database_fd_ = -1;    // the database file, flushed by the thread after each copy
  mutable std::mutex mu_;
  std::condition_variable wanted_;
  mutable std::condition_variable finished_;
  bool pending_ = false;
  bool stopping_ = false;
  std::uint64_t done_ = 0;
  std::atomic<int> copied_{0};  // log frames the last checkpoint had copied
  std::atomic<int> log_{0};     // the log's size at the last commit
  std::atomic<bool> restart_wanted_{false};
  std::thread thread_;  // started at the first signal: short-lived commands never start it
};

}  // namespace postern::store
