// The SQLite store's write-ahead log is checkpointed on a thread of its own, not inside a commit
// (store/src/wal_checkpointer.hpp).
#include "../../store/src/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "scratch.hpp"

namespace wal_checkpointer_test {

using postern::store::WalCheckpointer;
using namespace std::chrono_literals;

namespace {

// A WAL-mode database with one table, written by `db`.
struct Database {
  postern::test::ScratchDir dir{"postern-wal"};
  std::filesystem::path path = dir.file("wal.db");
  sqlite3* db = nullptr;

  Database() {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 10'000);  // as the store's connection: the checkpointer's is another
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t(v BLOB)");
  }
  ~Database() { sqlite3_close_v2(db); }
  void exec(const char* sql) const {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    INFO(sqlite3_errmsg(db));
    REQUIRE(rc == SQLITE_OK);
  }
  // Commits of one page-sized row each (about three log pages per commit).
  void commit_pages(int commits) const {
    for (int i = 0; i < commits; ++i) exec("INSERT INTO t VALUES(zeroblob(4000))");
  }
  [[nodiscard]] std::uintmax_t file_size() const { return std::filesystem::file_size(path); }
  [[nodiscard]] std::uintmax_t log_size() const {
    return std::filesystem::file_size(path.string() + "-wal");
  }
};

}  // namespace

TEST_CASE("wal: commits past the threshold wake the checkpointer, which fills the database file",
          "[store][wal]") {
  Database d;
  WalCheckpointer checkpointer(d.db, d.path);
  d.commit_pages(WalCheckpointer::kBackgroundPages / 4);
  CHECK_FALSE(checkpointer.wait_for_checkpoints(1, 0ms));  // below the threshold: nothing yet
  const auto before = d.file_size();
  d.commit_pages(WalCheckpointer::kBackgroundPages);
  REQUIRE(checkpointer.wait_for_checkpoints(1, 20s));
  // Pages were copied from the log into the database file (at least the rows committed before
  // the log reached the threshold).
  CHECK(d.file_size() > before + 250U * 4096U);
}

TEST_CASE("wal: commits back to back wake the checkpointer once per thousand frames not copied",
          "[store][wal]") {
  // A checkpoint beside back-to-back commits never finds every frame copied, so the log's size
  // stayed above the threshold and the thread was woken, and fsynced, after nearly every commit.
  Database d;
  WalCheckpointer checkpointer(d.db, d.path);
  constexpr int kCommits = 3 * WalCheckpointer::kInlinePages;
  d.commit_pages(kCommits);
  INFO("checkpoints: " << checkpointer.checkpoints());
  REQUIRE(checkpointer.wait_for_checkpoints(1, 20s));
  // Each wake needs kBackgroundPages new frames; a restarted log counts from its start again.
  CHECK(checkpointer.checkpoints() <= 4U * kCommits / WalCheckpointer::kBackgroundPages);
  // The log restarted from its start along the way: it holds fewer frames than commits (each
  // commit wrote two or more).
  constexpr std::uintmax_t kFrameBytes = 4096 + 24;
  CHECK(d.log_size() / kFrameBytes < static_cast<std::uintmax_t>(kCommits));
}

TEST_CASE("wal: without the checkpointer, SQLite's own checkpoint is back", "[store][wal]") {
  Database d;
  { WalCheckpointer checkpointer(d.db, d.path); }
  const auto before = d.file_size();
  d.commit_pages(WalCheckpointer::kBackgroundPages + 10);
  CHECK(d.file_size() > before + 1000U * 4096U);  // checkpointed inside a commit
}

}  // namespace wal_checkpointer_test
