// LISTEN for change-log notices and the sync lease (a session advisory lock), each on its own
// connection.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pg_connection.hpp"
#include "pg_schema.hpp"
#include "postern/store/replication.hpp"

namespace postern::store {
namespace {

using sync::SyncError;
using sync::SyncErrorKind;

SyncError lost(const std::string& what) { return SyncError{SyncErrorKind::Store, what}; }

class PgChangeListener final : public ChangeListener {
 public:
  explicit PgChangeListener(std::string url)
      : url_(std::move(url)), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~PgChangeListener() override {
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  sync::Status listen() override {
    try {
      conn_.reset();
      conn_ = std::make_unique<pg::Connection>(url_);
      conn_->exec_script("LISTEN postern_changes");
      return sync::ok_status();
    } catch (const std::exception& e) {
      conn_.reset();
      return lost(e.what());
    }
  }

  sync::Result<std::vector<ChangeNotice>> wait(std::chrono::milliseconds bound) override {
    if (!conn_ || !conn_->connected()) return lost("the change listener is not connected");
    std::vector<ChangeNotice> notices;
    if (!drain(notices)) return lost("the change listener lost its connection");
    if (!notices.empty()) return notices;
    pollfd fds[2] = {{PQsocket(conn_->raw()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(bound.count()));
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)::read(wake_fd_, &count, sizeof count);
    }
    if (ready > 0 && fds[0].revents != 0) {
      if (PQconsumeInput(conn_->raw()) == 0 || !drain(notices)) {
        return lost("the change listener lost its connection: " + conn_->error_text());
      }
    }
    return notices;
  }

  void wake() override {
    const std::uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
  }

 private:
  bool drain(std::vector<ChangeNotice>& out) {
    if (PQstatus(conn_->raw()) != CONNECTION_OK) return false;
    while (PGnotify* n = PQnotifies(conn_->raw())) {
      const auto j = nlohmann::json::parse(n->extra, nullptr, false);
      if (j.is_object() && j.value("id", nlohmann::json()).is_number_integer()) {
        out.push_back(ChangeNotice{j["id"].get<std::int64_t>(), j.value("kind", std::string()),
                                   j.value("origin", std::string())});
      }
      PQfreemem(n);
    }
    return true;
  }

  std::string url_;
  std::unique_ptr<pg::Connection> conn_;
  int wake_fd_;
};

class PgSyncLease final : public SyncLease {
 public:
  explicit PgSyncLease(std::string url) : url_(std::move(url)) {}

  sync::Result<bool> try_acquire() override {
    if (held_ && still_held()) return true;
    held_ = false;
    try {
      if (!conn_ || !conn_->connected()) conn_ = std::make_unique<pg::Connection>(url_);
      held_ = conn_->exec("SELECT pg_try_advisory_lock($1)", {pg::param(pg::kSyncLeaseLock)})
                  .text(0, 0) == "t";
      return held_;
    } catch (const std::exception& e) {
      conn_.reset();
      return lost(e.what());
    }
  }

  bool still_held() override {
    if (!held_ || !conn_) return false;
    try {
      // A round trip: a dead server or a dropped connection shows up here.
      conn_->exec("SELECT 1");
      return true;
    } catch (const std::exception&) {
      held_ = false;
      conn_.reset();
      return false;
    }
  }

  void release() override {
    if (held_ && conn_) {
      // Explicitly, so the next holder can take it at once; ending the session (below) releases
      // it too, but the server notices that a moment later.
      try {
        conn_->exec("SELECT pg_advisory_unlock($1)", {pg::param(pg::kSyncLeaseLock)});
      } catch (const std::exception&) {
        // The connection is gone, and the lock with it.
      }
    }
    held_ = false;
    conn_.reset();
  }

 private:
  std::string url_;
  std::unique_ptr<pg::Connection> conn_;
  bool held_ = false;
};

}  // namespace

std::unique_ptr<ChangeListener> make_change_listener(std::string url) {
  return std::make_unique<PgChangeListener>(std::move(url));
}

std::unique_ptr<SyncLease> make_sync_lease(std::string url) {
  return std::make_unique<PgSyncLease>(std::move(url));
}

}  // namespace postern::store
