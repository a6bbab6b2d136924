#include "server_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::control {
namespace {

// The pid the holder wrote, as text ("" when unreadable).
std::string holder_of(int fd) {
  char text[32] = {};
  const auto got = pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return {};
  std::string pid(text, static_cast<std::size_t>(got));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

bool write_pid(int fd) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  return ::ftruncate(fd, 0) == 0 &&
         ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

}  // namespace

std::variant<ServerLock, std::string> ServerLock::take(const std::filesystem::path& db) {
  const std::string path = db.string() + ".serve-lock";
  // flock, not fcntl: SQLite's own locks on the database are fcntl locks, which this file and
  // its descriptor never touch.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot create `{}`: {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = holder_of(fd);
    ::close(fd);
    if (error != EWOULDBLOCK)
      return fmt::format("cannot lock `{}`: {}", path, std::strerror(error));
    return fmt::format("another `postern serve`{} is serving `{}`",
                       pid.empty() ? "" : " (pid " + pid + ")", db.string());
  }
  // Best effort: without the pid the lock still holds; only a refused server's message lacks it.
  [[maybe_unused]] const bool noted = write_pid(fd);
  return ServerLock(fd);
}

ServerLock::~ServerLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace postern::control
