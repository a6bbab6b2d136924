#pragma once
// A SQLite VFS that writes a transaction's write-ahead-log frames with one system call instead of
// two per frame (docs/decisions.md H20, H26). SQLite appends a frame as two writes, its 24-byte
// header and then the page right after it, and a commit appends several frames; on this kind of
// host a system call costs more than copying a page. The VFS wraps the default one ("unix"):
// files other than a write-ahead log are the default's own, untouched; a log holds back the
// frames SQLite appends and writes them together when the commit frame's page comes (or before a
// run would outgrow one write of the default VFS, 128 KiB). Anything else done to the log first
// writes what is held, so the file never differs from what SQLite wrote when SQLite looks at it,
// and a crash before the write leaves what SQLite's own crash before its commit frame would: frames
// without a commit, which recovery ignores.

#include <cstdint>

namespace postern::store {

// The VFS's name, registered (not as the default) on first use; nullptr if registration failed,
// in which case the default VFS is used.
const char* wal_frame_vfs();

// Frames written whole (header and page in one write) since the process started (tests).
std::uint64_t wal_frames_joined();

// Writes to the default VFS's log files since the process started (tests).
std::uint64_t wal_log_writes();

}  // namespace postern::store
