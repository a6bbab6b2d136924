#include "wal_frame_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>

namespace postern::store {
namespace {

constexpr int kFrameHeader = 24;  // SQLite's WAL_FRAME_HDRSIZE
// The most the default VFS writes in one call (its unixWrite masks a write's size with 0x1ffff):
// a run that would grow past it is written first, so a large transaction (a sync of many
// devices) costs a write per ~128 KiB instead of its size in memory.
constexpr sqlite3_int64 kMaxRun = 0x1ffff;

std::atomic<std::uint64_t> frames_joined{0};
std::atomic<std::uint64_t> log_writes{0};

// A write-ahead log as this VFS opens it; the default VFS's file lives in the memory after it.
// `held` is a run of what SQLite wrote at `held_offset` and on, not yet written: whole frames,
// then possibly the header of the frame whose page comes next.
struct LogFile {
  sqlite3_file base;   // pMethods: kLogMethods
  sqlite3_file* real;  // the default VFS's file
  unsigned char* held;
  sqlite3_int64 held_capacity;
  sqlite3_int64 held_size;
  sqlite3_int64 held_offset;
  std::uint64_t held_frames;
  bool page_next;     // the run ends with a frame header: its page is the next write
  bool commit_frame;  // that header is a commit frame's
};

constexpr std::size_t kLogFileSize = (sizeof(LogFile) + 7) & ~std::size_t{7};

LogFile& log_of(sqlite3_file* file) { return *reinterpret_cast<LogFile*>(file); }
const sqlite3_io_methods& real_methods(LogFile& log) { return *log.real->pMethods; }

// A frame header's bytes 4-7 are the database's size in pages after a commit, zero otherwise.
bool is_commit_header(const void* header) {
  const auto* bytes = static_cast<const unsigned char*>(header);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

// Writes what is held: before anything else touches the file, at a commit, and before kMaxRun.
int release_held(LogFile& log) {
  if (log.held_size == 0) return SQLITE_OK;
  const auto size = log.held_size;
  const auto frames = log.held_frames;
  log.held_size = 0;
  log.held_frames = 0;
  log.page_next = false;
  log_writes.fetch_add(1, std::memory_order_relaxed);
  const int rc =
      real_methods(log).xWrite(log.real, log.held, static_cast<int>(size), log.held_offset);
  if (rc == SQLITE_OK && size > kFrameHeader) {
    frames_joined.fetch_add(frames, std::memory_order_relaxed);
  }
  return rc;
}

// Appends to the held run; false when no buffer could be had (nothing changed).
bool hold(LogFile& log, const void* data, int amount, sqlite3_int64 offset) {
  if (log.held_size == 0) log.held_offset = offset;
  const sqlite3_int64 needed = log.held_size + amount;
  if (needed > log.held_capacity) {
    const sqlite3_int64 capacity = std::max(needed, 2 * log.held_capacity);
    auto* grown = static_cast<unsigned char*>(
        sqlite3_realloc64(log.held, static_cast<sqlite3_uint64>(capacity)));
    if (grown == nullptr) return false;
    log.held = grown;
    log.held_capacity = capacity;
  }
  std::memcpy(log.held + log.held_size, data, static_cast<std::size_t>(amount));
  log.held_size = needed;
  return true;
}

// A frame header or the page after one, appended to the run; false when it cannot be.
bool hold_frame_piece(LogFile& log, const void* data, int amount, sqlite3_int64 offset) {
  const bool follows = log.held_size == 0 || offset == log.held_offset + log.held_size;
  if (!follows || amount <= 0 || log.held_size + amount > kMaxRun) return false;
  if (log.page_next) {
    if (!hold(log, data, amount, offset)) return false;
    log.page_next = false;
    ++log.held_frames;
    return true;
  }
  if (amount != kFrameHeader || !hold(log, data, amount, offset)) return false;
  log.page_next = true;
  log.commit_frame = is_commit_header(data);
  return true;
}

int log_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  auto& log = log_of(file);
  if (hold_frame_piece(log, data, amount, offset)) {
    const bool frame_done = !log.page_next;
    const bool next_fits = log.held_size + kFrameHeader + amount <= kMaxRun;
    if (frame_done && (log.commit_frame || !next_fits)) return release_held(log);
    return SQLITE_OK;
  }
  if (const int rc = release_held(log); rc != SQLITE_OK) return rc;
  if (hold_frame_piece(log, data, amount, offset)) return SQLITE_OK;
  log_writes.fetch_add(1, std::memory_order_relaxed);
  return real_methods(log).xWrite(log.real, data, amount, offset);
}

int log_close(sqlite3_file* file) {
  auto& log = log_of(file);
  const int released = release_held(log);
  const int closed = real_methods(log).xClose(log.real);
  sqlite3_free(log.held);
  log.held = nullptr;
  return released != SQLITE_OK ? released : closed;
}

// Any other call: what is held is written first, then the default VFS's file answers.
template <auto Method, class... Args>
int after_release(sqlite3_file* file, Args... args) {
  auto& log = log_of(file);
  if (const int rc = release_held(log); rc != SQLITE_OK) return rc;
  return (real_methods(log).*Method)(log.real, args...);
}

// Calls that do not look at the file's content go straight to the default VFS's file.
template <auto Method, class... Args>
int passed_on(sqlite3_file* file, Args... args) {
  auto& log = log_of(file);
  return (real_methods(log).*Method)(log.real, args...);
}

// Version 1: SQLite asks for shared memory and memory maps of the database file, never of its
// log, so the log's methods stop at version 1's.
const sqlite3_io_methods kLogMethods = {
    1,
    log_close,
    after_release<&sqlite3_io_methods::xRead>,
    log_write,
    after_release<&sqlite3_io_methods::xTruncate>,
    after_release<&sqlite3_io_methods::xSync>,
    after_release<&sqlite3_io_methods::xFileSize>,
    after_release<&sqlite3_io_methods::xLock>,
    after_release<&sqlite3_io_methods::xUnlock>,
    passed_on<&sqlite3_io_methods::xCheckReservedLock>,
    after_release<&sqlite3_io_methods::xFileControl>,
    passed_on<&sqlite3_io_methods::xSectorSize>,
    passed_on<&sqlite3_io_methods::xDeviceCharacteristics>,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

// The default VFS as it was when ours was registered: our file size is computed from its.
sqlite3_vfs* wrapped_vfs() {
  static sqlite3_vfs* const wrapped = sqlite3_vfs_find(nullptr);
  return wrapped;
}

// Every file but a log is opened by the default VFS straight into `file`; a log into the memory
// after our header, with our methods in front.
int open_file(sqlite3_vfs* /*self*/, const char* name, sqlite3_file* file, int flags,
              int* out_flags) {
  sqlite3_vfs* real_vfs = wrapped_vfs();
  if ((flags & SQLITE_OPEN_WAL) == 0)
    return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
  auto& log = log_of(file);
  log.real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<unsigned char*>(file) + kLogFileSize);
  log.real->pMethods = nullptr;
  log.held = nullptr;
  log.held_capacity = 0;
  log.held_size = 0;
  log.held_offset = 0;
  log.held_frames = 0;
  log.page_next = false;
  log.commit_frame = false;
  const int rc = real_vfs->xOpen(real_vfs, name, log.real, flags, out_flags);
  // SQLite closes a file whose methods are set even when opening failed.
  file->pMethods = log.real->pMethods != nullptr ? &kLogMethods : nullptr;
  return rc;
}

sqlite3_vfs* registered() {
  static sqlite3_vfs vfs = [] {
    sqlite3_vfs copy = *wrapped_vfs();
    copy.pNext = nullptr;
    copy.zName = "postern-wal-frames";
    copy.szOsFile = static_cast<int>(kLogFileSize) + copy.szOsFile;
    copy.xOpen = open_file;
    return copy;
  }();
  static const bool ok = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  return ok ? &vfs : nullptr;
}

}  // namespace

const char* wal_frame_vfs() {
  const auto* vfs = registered();
  return vfs != nullptr ? vfs->zName : nullptr;
}

std::uint64_t wal_frames_joined() { return frames_joined.load(std::memory_order_relaxed); }

std::uint64_t wal_log_writes() { return log_writes.load(std::memory_order_relaxed); }

}  // namespace postern::store
