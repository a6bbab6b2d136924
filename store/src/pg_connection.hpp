#pragma once
// A libpq connection with RAII results and text parameters, shared by the PostgreSQL store, its
// change listener and the sync lease. Failures throw PgFailure; the callers turn them into
// SyncError values before they leave store/.
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::store::pg {

struct PgFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}
  [[nodiscard]] int size() const { return PQntuples(result_.get()); }
  [[nodiscard]] bool null(int row, int col) const {
    return PQgetisnull(result_.get(), row, col) != 0;
  }
  [[nodiscard]] std::string text(int row, int col) const {
    return std::string(PQgetvalue(result_.get(), row, col),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
  }
  [[nodiscard]] std::int64_t integer(int row, int col) const;
  [[nodiscard]] std::optional<std::int64_t> maybe_integer(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return integer(row, col);
  }
  [[nodiscard]] std::int64_t affected() const;

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

// One query parameter: text, or SQL NULL.
using Param = std::optional<std::string>;
inline Param param(std::string_view text) { return std::string(text); }
inline Param param(std::int64_t value) { return std::to_string(value); }
inline Param param(std::optional<std::int64_t> value) { return value ? param(*value) : Param{}; }

class Connection {
 public:
  // Connects to `url` (postgresql://...). The URL's own connect_timeout wins over the default.
  explicit Connection(std::string url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reconnects when the connection was lost; throws when the server cannot be reached.
  void ensure_connected();
  [[nodiscard]] bool connected() const;
  Rows exec(const char* sql, const std::vector<Param>& params = {});
  void exec_script(const char* sql);
  [[nodiscard]] PGconn* raw() const { return conn_; }
  [[nodiscard]] const std::string& redacted_url() const { return redacted_; }
  // The connection's last failure on one line, without the URL's password.
  [[nodiscard]] std::string error_text() const;
  // Statements that have succeeded on this object (across reconnects): a caller compares two
  // readings to know whether a failed call got anything through.
  [[nodiscard]] std::uint64_t statements_done() const { return statements_done_; }

 private:
  void connect();
  std::uint64_t statements_done_ = 0;
  std::string url_;
  std::string redacted_;  // the URL without its password, for messages
  PGconn* conn_ = nullptr;
};

// "postgresql://user:secret@host/db" -> "postgresql://user@host/db": errors never carry it.
std::string redact_url(std::string_view url);
// The connection's last failure on one line, as libpq gives it (see Connection::error_text).
std::string connection_error(PGconn* conn);
// `message` without the password `url` holds (libpq quotes parts of a URL it cannot parse).
std::string without_url_secrets(std::string message, std::string_view url);

// A transaction on `conn`, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& conn, const char* begin = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace postern::store::pg
