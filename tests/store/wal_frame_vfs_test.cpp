// The VFS that writes a transaction's write-ahead-log frames in one system call
// (store/src/wal_frame_vfs.hpp): what it writes is what SQLite wrote, byte for byte.
#include "../../store/src/wal_frame_vfs.hpp"

#include <sqlite3.h>

#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scratch.hpp"

namespace wal_frame_vfs_test {

using postern::store::wal_frame_vfs;
using postern::store::wal_frames_joined;
using postern::store::wal_log_writes;

namespace {

struct Connection {
  sqlite3* db = nullptr;
  Connection(const std::filesystem::path& path, const char* vfs) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) ==
            SQLITE_OK);
  }
  ~Connection() { sqlite3_close_v2(db); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql) const {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(rc == SQLITE_OK);
  }
  [[nodiscard]] std::string text(const std::string& sql) const {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
};

// One transaction per row, each row a page or more (random bytes: no two frames alike).
void write_rows(const Connection& c, int rows) {
  for (int i = 0; i < rows; ++i) {
    c.exec("INSERT INTO t VALUES(" + std::to_string(i) + ", randomblob(3000 + " +
           std::to_string(i % 7) + " * 300))");
  }
}

}  // namespace

TEST_CASE("wal frames: a log written by the VFS is read back whole, live and after a crash",
          "[store][wal]") {
  REQUIRE(wal_frame_vfs() != nullptr);
  postern::test::ScratchDir dir{"postern-wal-vfs"};
  const auto path = dir.file("frames.db");
  const auto copy = dir.file("copy.db");
  constexpr int kRows = 400;
  Connection writer(path, wal_frame_vfs());
  writer.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  const auto joined_before = wal_frames_joined();
  const auto writes_before = wal_log_writes();
  write_rows(writer, kRows);
  // Each row's commit writes its page and more: every one of those frames went out whole, and
  // each transaction's frames in one write (the log's own header, once, in another).
  CHECK(wal_frames_joined() - joined_before >= static_cast<std::uint64_t>(kRows));
  CHECK(wal_log_writes() - writes_before <= static_cast<std::uint64_t>(kRows) + 1);

  // Another connection, through SQLite's own VFS, reads what the frames hold while the writer
  // is open (every row lives only in the log: nothing was checkpointed).
  const std::string digest_sql =
      "SELECT count(*) || ':' || sum(length(v)) || ':' || "
      "sum(unicode(substr(v, 100, 1))) FROM t";
  const auto digest = writer.text(digest_sql);
  {
    Connection reader(path, nullptr);
    CHECK(reader.text(digest_sql) == digest);
  }
  // The files as a crash would leave them (no shared memory): recovery rebuilds the index from
  // the log and keeps only frames whose checksums hold, so a misplaced byte loses rows.
  std::filesystem::copy_file(path, copy);
  std::filesystem::copy_file(path.string() + "-wal", copy.string() + "-wal");
  Connection recovered(copy, nullptr);
  CHECK(recovered.text(digest_sql) == digest);
  CHECK(recovered.text("SELECT count(*) FROM t") == std::to_string(kRows));
  CHECK(recovered.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("wal frames: a header held back is written before the log is read, sized or closed",
          "[store][wal]") {
  REQUIRE(wal_frame_vfs() != nullptr);
  postern::test::ScratchDir dir{"postern-wal-vfs"};
  const auto database = dir.file("raw.db");
  { std::ofstream touch(database); }  // SQLite gives a log its database's permissions
  const auto path = database.string() + "-wal";
  sqlite3_vfs* vfs = sqlite3_vfs_find(wal_frame_vfs());
  REQUIRE(vfs != nullptr);
  std::vector<unsigned char> memory(static_cast<std::size_t>(vfs->szOsFile));
  auto* file = reinterpret_cast<sqlite3_file*>(memory.data());
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL;
  int out_flags = 0;
  REQUIRE(vfs->xOpen(vfs, path.c_str(), file, flags, &out_flags) == SQLITE_OK);
  REQUIRE(file->pMethods != nullptr);

  std::array<unsigned char, 32> log_header{};
  log_header.fill(0x11);
  std::array<unsigned char, 24> frame_header{};
  frame_header.fill(0x22);
  REQUIRE(file->pMethods->xWrite(file, log_header.data(), 32, 0) == SQLITE_OK);
  REQUIRE(file->pMethods->xWrite(file, frame_header.data(), 24, 32) == SQLITE_OK);
  sqlite3_int64 size = 0;
  REQUIRE(file->pMethods->xFileSize(file, &size) == SQLITE_OK);
  CHECK(size == 56);  // the held header went out first
  std::array<unsigned char, 24> read_back{};
  REQUIRE(file->pMethods->xRead(file, read_back.data(), 24, 32) == SQLITE_OK);
  CHECK(read_back == frame_header);

  // Held again, then closed: the close writes it.
  frame_header.fill(0x33);
  REQUIRE(file->pMethods->xWrite(file, frame_header.data(), 24, 56) == SQLITE_OK);
  REQUIRE(file->pMethods->xClose(file) == SQLITE_OK);
  CHECK(std::filesystem::file_size(path) == 80U);
}

TEST_CASE("wal frames: a transaction's frames are written at its commit frame, or by 128 KiB",
          "[store][wal]") {
  REQUIRE(wal_frame_vfs() != nullptr);
  postern::test::ScratchDir dir{"postern-wal-vfs"};
  const auto database = dir.file("raw.db");
  { std::ofstream touch(database); }
  const auto path = database.string() + "-wal";
  sqlite3_vfs* vfs = sqlite3_vfs_find(wal_frame_vfs());
  REQUIRE(vfs != nullptr);
  std::vector<unsigned char> memory(static_cast<std::size_t>(vfs->szOsFile));
  auto* file = reinterpret_cast<sqlite3_file*>(memory.data());
  int out_flags = 0;
  REQUIRE(vfs->xOpen(vfs, path.c_str(), file,
                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL,
                     &out_flags) == SQLITE_OK);
  constexpr sqlite3_int64 kFrame = 24 + 4096;
  std::array<unsigned char, 32> log_header{};
  REQUIRE(file->pMethods->xWrite(file, log_header.data(), 32, 0) == SQLITE_OK);
  sqlite3_int64 end = 32;
  std::vector<unsigned char> page(4096);
  auto append_frame = [&](bool commit) {
    std::array<unsigned char, 24> header{};
    header.fill(0x44);
    for (int i = 4; i < 8; ++i) header[static_cast<std::size_t>(i)] = 0;
    if (commit) header[7] = 9;  // the database's size in pages after the commit
    page.assign(page.size(), static_cast<unsigned char>(end % 251));
    REQUIRE(file->pMethods->xWrite(file, header.data(), 24, end) == SQLITE_OK);
    REQUIRE(file->pMethods->xWrite(file, page.data(), 4096, end + 24) == SQLITE_OK);
    end += kFrame;
  };
  const auto on_disk = [&] { return static_cast<sqlite3_int64>(std::filesystem::file_size(path)); };

  const auto writes_before = wal_log_writes();
  append_frame(false);
  append_frame(false);
  CHECK(on_disk() == 32);  // held until the commit
  append_frame(true);
  CHECK(on_disk() == 32 + 3 * kFrame);
  CHECK(wal_log_writes() - writes_before == 1);

  // A large transaction goes out before its commit, in writes the default VFS takes whole
  // (at most 0x1ffff bytes: it would write a larger one only in part).
  for (int i = 0; i < 300; ++i) append_frame(false);
  CHECK(on_disk() >= end - 0x1ffff);
  CHECK(on_disk() < end);
  append_frame(true);
  CHECK(on_disk() == end);
  const auto run_writes = (300 * kFrame + 0x1ffff - 1) / 0x1ffff;
  CHECK(wal_log_writes() - writes_before <= static_cast<std::uint64_t>(run_writes) + 3);

  // The bytes are the ones written, in their places.
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(static_cast<sqlite3_int64>(bytes.size()) == end);
  for (sqlite3_int64 at = 32; at < end; at += kFrame) {
    CHECK(static_cast<unsigned char>(bytes[static_cast<std::size_t>(at)]) == 0x44);
    CHECK(static_cast<unsigned char>(bytes[static_cast<std::size_t>(at + 24 + 100)]) == at % 251);
  }
  REQUIRE(file->pMethods->xClose(file) == SQLITE_OK);
}

}  // namespace wal_frame_vfs_test
