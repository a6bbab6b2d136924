#include "wal_frame_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstddef>
#include <cstring>

namespace postern::store {
namespace {

constexpr int kFrameHeader = 24;  // SQLite's WAL_FRAME_HDRSIZE

std::atomic<std::uint64_t> frames_joined{0};

// A write-ahead log as this VFS opens it; the default VFS's file lives in the memory after it.
struct LogFile {
  sqlite3_file base;   // pMethods: kLogMethods
  sqlite3_file* real;  // the default VFS's file
  unsigned char* joined;
  sqlite3_int64 joined_capacity;
  sqlite3_int64 held_offset;
  bool held;
  unsigned char header[kFrameHeader];
};

constexpr std::size_t kLogFileSize = (sizeof(LogFile) + 7) & ~std::size_t{7};

LogFile& log_of(sqlite3_file* file) { return *reinterpret_cast<LogFile*>(file); }
const sqlite3_io_methods& real_methods(LogFile& log) { return *log.real->pMethods; }

// Writes a header still held back: before anything else touches the file.
int release_header(LogFile& log) {
  if (!log.held) return SQLITE_OK;
  log.held = false;
  return real_methods(log).xWrite(log.real, log.header, kFrameHeader, log.held_offset);
}

// The held header and `page`, which follows it, in one write; false when no buffer could be had.
bool write_joined(LogFile& log, const void* page, int amount, int& rc) {
  const sqlite3_int64 needed = kFrameHeader + static_cast<sqlite3_int64>(amount);
  if (needed > log.joined_capacity) {
    auto* grown = static_cast<unsigned char*>(
        sqlite3_realloc64(log.joined, static_cast<sqlite3_uint64>(needed)));
    if (grown == nullptr) return false;
    log.joined = grown;
    log.joined_capacity = needed;
  }
  std::memcpy(log.joined, log.header, kFrameHeader);
  std::memcpy(log.joined + kFrameHeader, page, static_cast<std::size_t>(amount));
  log.held = false;
  rc = real_methods(log).xWrite(log.real, log.joined, static_cast<int>(needed), log.held_offset);
  if (rc == SQLITE_OK) frames_joined.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int log_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  auto& log = log_of(file);
  if (log.held && offset == log.held_offset + kFrameHeader && amount > 0) {
    int rc = SQLITE_OK;
    if (write_joined(log, data, amount, rc)) return rc;
  }
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  if (amount == kFrameHeader) {
    std::memcpy(log.header, data, kFrameHeader);
    log.held_offset = offset;
    log.held = true;
    return SQLITE_OK;
  }
  return real_methods(log).xWrite(log.real, data, amount, offset);
}

int log_close(sqlite3_file* file) {
  auto& log = log_of(file);
  const int released = release_header(log);
  const int closed = real_methods(log).xClose(log.real);
  sqlite3_free(log.joined);
  log.joined = nullptr;
  return released != SQLITE_OK ? released : closed;
}

// Any other call: a header still held is written first, then the default VFS's file answers.
template <auto Method, class... Args>
int after_release(sqlite3_file* file, Args... args) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
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
  log.joined = nullptr;
  log.joined_capacity = 0;
  log.held_offset = 0;
  log.held = false;
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

}  // namespace postern::store
