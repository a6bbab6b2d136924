#pragma once
// A SQLite VFS that writes each write-ahead-log frame with one system call instead of two
// (docs/decisions.md H20). SQLite appends a frame as two writes, its 24-byte header and then the
// page right after it; on this kind of host a system call costs more than copying a page, and an
// attribute write appends about two frames. The VFS wraps the default one ("unix"): files other
// than a write-ahead log are the default's own, untouched; a log holds a frame header back and
// writes it together with the page that follows it. Anything else done to the log first writes
// a header still held, so the file never differs from what SQLite wrote when SQLite looks at it,
// and a crash between the two writes leaves what SQLite's own crash there would: a frame whose
// checksum fails, which recovery ignores.

#include <cstdint>

namespace postern::store {

// The VFS's name, registered (not as the default) on first use; nullptr if registration failed,
// in which case the default VFS is used.
const char* wal_frame_vfs();

// Frames written whole (header and page in one write) since the process started (tests).
std::uint64_t wal_frames_joined();

}  // namespace postern::store
