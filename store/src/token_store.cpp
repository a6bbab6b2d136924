// API tokens in owner-only files next to the database, never inside it.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
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

namespace {

Status make_secrets_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return store_error("cannot create `" + dir.string() + "`: " + std::strerror(errno));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return store_error("cannot restrict `" + dir.string() + "`: " + std::strerror(errno));
  }
  return ok_status();
}

constexpr std::string_view kTempMark = ".tmp-";
constexpr std::string_view kAsideMark = ".token.before-v";

bool is_temporary(std::string_view name) { return name.find(kTempMark) != std::string_view::npos; }
bool is_aside(std::string_view name) { return name.find(kAsideMark) != std::string_view::npos; }

// A temporary of this process's own (two writers never share one), next to `final_path`.
std::filesystem::path temp_path_for(const std::filesystem::path& final_path) {
  static std::atomic<unsigned> counter{0};
  return std::filesystem::path(
      fmt::format("{}{}{}-{}", final_path.string(), kTempMark, ::getpid(), counter.fetch_add(1)));
}

// `bytes` in a new owner-only file at `path`, flushed to disk.
bool write_file(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // The mode argument is filtered by umask; make sure it ends up 0600 exactly.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t written = 0;
  while (ok && written < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return ok;
}

// The renames in `dir` made durable.
void sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

Status write_failed(const std::filesystem::path& final_path) {
  return store_error(
      fmt::format("cannot write `{}`: {}", final_path.string(), std::strerror(errno)));
}

}  // namespace

Status write_token(const std::filesystem::path& db_path, std::string_view provider,
                   std::string_view token) {
  if (auto made = make_secrets_dir(secrets_dir(db_path)); !made) return made;
  const auto final_path = token_path(db_path, provider);
  const auto temp_path = temp_path_for(final_path);
  if (!write_file(temp_path, token)) return write_failed(final_path);
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    auto failed = write_failed(final_path);
    ::unlink(temp_path.c_str());
    return failed;
  }
  sync_dir(secrets_dir(db_path));
  return ok_status();
}

Result<StagedToken> StagedToken::stage(const std::filesystem::path& db_path,
                                       std::string_view provider, std::string_view token,
                                       std::int64_t version_before) {
  const auto dir = secrets_dir(db_path);
  if (auto made = make_secrets_dir(dir); !made) return made.error();
  const auto final_path = token_path(db_path, provider);
  const auto aside_path = dir / fmt::format("{}{}{}", provider, kAsideMark, version_before);
  const auto temp_path = temp_path_for(final_path);
  if (!write_file(temp_path, token)) return write_failed(final_path).error();
  // The previous token set aside (renamed: no space needed), or an empty file saying none.
  const bool had_token = ::rename(final_path.c_str(), aside_path.c_str()) == 0;
  if (!had_token && (errno != ENOENT || !write_file(aside_path, ""))) {
    auto failed = write_failed(final_path);
    ::unlink(temp_path.c_str());
    return failed.error();
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    auto failed = write_failed(final_path);
    ::unlink(temp_path.c_str());
    if (had_token) {
      ::rename(aside_path.c_str(), final_path.c_str());
    } else {
      ::unlink(aside_path.c_str());
    }
    return failed.error();
  }
  sync_dir(dir);
  return StagedToken(final_path, aside_path);
}

StagedToken::StagedToken(std::filesystem::path final_path, std::filesystem::path aside_path)
    : final_path_(std::move(final_path)), aside_path_(std::move(aside_path)) {}

StagedToken::StagedToken(StagedToken&& other) noexcept
    : final_path_(std::move(other.final_path_)), aside_path_(std::move(other.aside_path_)) {
  other.aside_path_.clear();
}

namespace {

// Puts the token set aside at `aside` back as `final_path` (or removes the new one when the aside
// file is empty: there was none).
void restore_aside(const std::filesystem::path& aside, const std::filesystem::path& final_path) {
  std::error_code ec;
  if (std::filesystem::file_size(aside, ec) > 0 && !ec) {
    ::rename(aside.c_str(), final_path.c_str());
  } else {
    ::unlink(final_path.c_str());
    ::unlink(aside.c_str());
  }
  sync_dir(final_path.parent_path());
}

}  // namespace

StagedToken::~StagedToken() {
  if (!aside_path_.empty()) restore_aside(aside_path_, final_path_);
}

void StagedToken::keep() noexcept {
  if (aside_path_.empty()) return;
  ::unlink(aside_path_.c_str());
  aside_path_.clear();
}

bool has_staged_tokens(const std::filesystem::path& db_path) {
  std::error_code ec;
  std::filesystem::directory_iterator entries(secrets_dir(db_path), ec);
  if (ec) return false;  // no secrets yet
  return std::any_of(begin(entries), end(entries), [](const auto& entry) {
    const std::string name = entry.path().filename().string();
    return is_temporary(name) || is_aside(name);
  });
}

void settle_staged_tokens(
    const std::filesystem::path& db_path,
    const std::function<std::optional<std::int64_t>(std::string_view provider)>& version_of) {
  const auto dir = secrets_dir(db_path);
  std::error_code ec;
  std::filesystem::directory_iterator entries(dir, ec);
  if (ec) return;  // no secrets yet
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (is_temporary(name)) {
      ::unlink(entry.path().c_str());  // a write that never finished
      continue;
    }
    if (!is_aside(name)) continue;
    const auto mark = name.find(kAsideMark);
    const std::string provider = name.substr(0, mark);
    std::int64_t version = -1;
    const auto digits = std::string_view(name).substr(mark + kAsideMark.size());
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), version);
    const bool well_formed = error == std::errc{} && end == digits.data() + digits.size();
    const auto stored = version_of(provider);
    const bool never_committed = well_formed && (stored ? *stored == version : version == 0);
    if (never_committed) {
      restore_aside(entry.path(), token_path(db_path, provider));
    } else {
      ::unlink(entry.path().c_str());
    }
  }
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
