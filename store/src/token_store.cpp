// API tokens in owner-only files next to the database, never inside it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "postern/store/store.hpp"

namespace postern::store {

using sync::ok_status;
using sync::SyncError;
using sync::SyncErrorKind;
namespace {

SyncError store_error(const std::string& message) {
  return SyncError{SyncErrorKind::Store, message};
}

std::filesystem::path secrets_dir(const std::filesystem::path& db_path) {
  return std::filesystem::path(db_path.string() + ".secrets");
}

}  // namespace

std::filesystem::path token_path(const std::filesystem::path& db_path, std::string_view provider) {
  return secrets_dir(db_path) / (std::string(provider) + ".token");
}

Status write_token(const std::filesystem::path& db_path, std::string_view provider,
                   std::string_view token) {
  const auto dir = secrets_dir(db_path);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return store_error("cannot create `" + dir.string() + "`: " + std::strerror(errno));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return store_error("cannot restrict `" + dir.string() + "`: " + std::strerror(errno));
  }
  const auto final_path = token_path(db_path, provider);
  const auto temp_path = std::filesystem::path(final_path.string() + ".tmp");
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return store_error("cannot write `" + temp_path.string() + "`: " + std::strerror(errno));
  // The mode argument is filtered by umask; make sure it ends up 0600 exactly.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t written = 0;
  while (ok && written < token.size()) {
    const auto n = ::write(fd, token.data() + written, token.size() - written);
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    ::unlink(temp_path.c_str());
    return store_error("cannot write `" + final_path.string() + "`");
  }
  return ok_status();
}

Result<std::string> read_token(const std::filesystem::path& db_path, std::string_view provider) {
  const auto path = token_path(db_path, provider);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return SyncError{SyncErrorKind::Config, "the API token file `" + path.string() +
                                                "` is missing; run `postern integrations "
                                                "update` with a token"};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string token = buffer.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return SyncError{SyncErrorKind::Config, "the stored API token is empty"};
  return token;
}

Status remove_token(const std::filesystem::path& db_path, std::string_view provider) {
  std::error_code ec;
  std::filesystem::remove(token_path(db_path, provider), ec);
  if (ec) return store_error("cannot remove the token file: " + ec.message());
  return ok_status();
}

}  // namespace postern::store
