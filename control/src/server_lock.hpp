#pragma once
// One server per SQLite store: a second `postern serve` on the same file would check the
// one-type and case rules against its own live state and write audit events with the wrong old
// values (docs/decisions.md SY13). CLI commands are not servers and take no lock.
#include <filesystem>
#include <string>
#include <variant>

namespace postern::control {

class ServerLock {
 public:
  // The lock beside `db` (`<db>.serve-lock`, holding the holder's pid), or why it cannot be
  // taken: another live server holds it, or the file cannot be made.
  static std::variant<ServerLock, std::string> take(const std::filesystem::path& db);
  ServerLock(ServerLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ServerLock& operator=(ServerLock&&) = delete;
  ServerLock(const ServerLock&) = delete;
  ServerLock& operator=(const ServerLock&) = delete;
  ~ServerLock();

 private:
  explicit ServerLock(int fd) : fd_(fd) {}
  int fd_ = -1;  // flock(LOCK_EX) held until the process ends or the lock is destroyed
};

}  // namespace postern::control
