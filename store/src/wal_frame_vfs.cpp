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

int log_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xRead(log.real, out, amount, offset);
}

int log_truncate(sqlite3_file* file, sqlite3_int64 size) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xTruncate(log.real, size);
}

int log_sync(sqlite3_file* file, int flags) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xSync(log.real, flags);
}

int log_file_size(sqlite3_file* file, sqlite3_int64* size) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xFileSize(log.real, size);
}

int log_lock(sqlite3_file* file, int level) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xLock(log.real, level);
}

int log_unlock(sqlite3_file* file, int level) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xUnlock(log.real, level);
}

int log_check_reserved(sqlite3_file* file, int* out) {
  auto& log = log_of(file);
  return real_methods(log).xCheckReservedLock(log.real, out);
}

int log_file_control(sqlite3_file* file, int op, void* arg) {
  auto& log = log_of(file);
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  return real_methods(log).xFileControl(log.real, op, arg);
}

int log_sector_size(sqlite3_file* file) {
  auto& log = log_of(file);
  return real_methods(log).xSectorSize(log.real);
}

int log_device_characteristics(sqlite3_file* file) {
  auto& log = log_of(file);
  return real_methods(log).xDeviceCharacteristics(log.real);
}

// A log is never memory-mapped nor given shared memory (those belong to the database file),
// but the methods exist in version 3 and are passed on as the default VFS has them.
int log_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  auto& log = log_of(file);
  if (real_methods(log).iVersion < 2 || real_methods(log).xShmMap == nullptr) {
    return SQLITE_IOERR_SHMMAP;
  }
  return real_methods(log).xShmMap(log.real, region, size, extend, out);
}

int log_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  auto& log = log_of(file);
  if (real_methods(log).iVersion < 2 || real_methods(log).xShmLock == nullptr) {
    return SQLITE_IOERR_SHMLOCK;
  }
  return real_methods(log).xShmLock(log.real, offset, n, flags);
}

void log_shm_barrier(sqlite3_file* file) {
  auto& log = log_of(file);
  if (real_methods(log).iVersion >= 2 && real_methods(log).xShmBarrier != nullptr) {
    real_methods(log).xShmBarrier(log.real);
  }
}

int log_shm_unmap(sqlite3_file* file, int delete_flag) {
  auto& log = log_of(file);
  if (real_methods(log).iVersion < 2 || real_methods(log).xShmUnmap == nullptr) return SQLITE_OK;
  return real_methods(log).xShmUnmap(log.real, delete_flag);
}

int log_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  auto& log = log_of(file);
  *out = nullptr;
  if (const int rc = release_header(log); rc != SQLITE_OK) return rc;
  if (real_methods(log).iVersion < 3 || real_methods(log).xFetch == nullptr) return SQLITE_OK;
  return real_methods(log).xFetch(log.real, offset, amount, out);
}

int log_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  auto& log = log_of(file);
  if (real_methods(log).iVersion < 3 || real_methods(log).xUnfetch == nullptr) return SQLITE_OK;
  return real_methods(log).xUnfetch(log.real, offset, page);
}

const sqlite3_io_methods kLogMethods = {
    3,
    log_close,
    log_read,
    log_write,
    log_truncate,
    log_sync,
    log_file_size,
    log_lock,
    log_unlock,
    log_check_reserved,
    log_file_control,
    log_sector_size,
    log_device_characteristics,
    log_shm_map,
    log_shm_lock,
    log_shm_barrier,
    log_shm_unmap,
    log_fetch,
    log_unfetch,
};

sqlite3_vfs* default_vfs() { return sqlite3_vfs_find(nullptr); }

// Every file but a log is opened by the default VFS straight into `file`; a log into the memory
// after our header, with our methods in front.
int open_file(sqlite3_vfs* /*self*/, const char* name, sqlite3_file* file, int flags,
              int* out_flags) {
  sqlite3_vfs* real_vfs = default_vfs();
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
    sqlite3_vfs copy = *default_vfs();
    copy.pNext = nullptr;
    copy.zName = "postern-wal-frames";
    copy.szOsFile = static_cast<int>(kLogFileSize) + default_vfs()->szOsFile;
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
