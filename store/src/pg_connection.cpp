// libpq plumbing: connecting (with a bounded connect timeout), reconnecting after a loss, text
// parameters, results, transactions.
#include "pg_connection.hpp"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace postern::store::pg {

std::int64_t Rows::integer(int row, int col) const {
  const char* p = PQgetvalue(result_.get(), row, col);
  const auto len = static_cast<std::size_t>(PQgetlength(result_.get(), row, col));
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(p, p + len, value);
  if (ec != std::errc() || end != p + len) {
    throw PgFailure(fmt::format("unexpected non-integer value `{}` from the database",
                                std::string_view(p, len)));
  }
  return value;
}

std::int64_t Rows::affected() const {
  const char* n = PQcmdTuples(result_.get());
  std::int64_t value = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

namespace {

// Where the password sits in a postgresql:// URL: after the first ':' of the user information,
// which ends at the last '@' before the query (a malformed URL may hold a raw '/' or '[').
struct UrlPassword {
  std::size_t begin = 0;
  std::size_t end = 0;  // begin == end: none
};

UrlPassword url_password(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const auto authority = scheme + 3;
  const auto at = url.substr(0, url.find('?')).rfind('@');
  if (at == std::string_view::npos || at < authority) return {};
  const auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return {};
  return {colon + 1, at};
}

// The texts a message must not repeat: the URL's password and any `password=` parameter, as
// written (libpq's complaints about a malformed URL quote the offending token or the whole URL).
std::vector<std::string> url_secrets(std::string_view url) {
  std::vector<std::string> secrets;
  const auto password = url_password(url);
  if (password.end > password.begin) {
    secrets.emplace_back(url.substr(password.begin, password.end - password.begin));
  }
  for (auto at = url.find("password="); at != std::string_view::npos;
       at = url.find("password=", at + 1)) {
    const auto value = at + std::string_view("password=").size();
    const auto stop = url.find_first_of("& ", value);
    if (stop != value) secrets.emplace_back(url.substr(value, stop - value));
  }
  return secrets;
}

}  // namespace

std::string redact_url(std::string_view url) {
  const auto password = url_password(url);
  std::string out(url.substr(0, url.find('?')));
  if (password.end > password.begin)
    out.erase(password.begin - 1, password.end - password.begin + 1);
  return out;
}

std::string without_url_secrets(std::string message, std::string_view url) {
  for (const auto& secret : url_secrets(url)) {
    if (message.find(secret) == std::string::npos) continue;
    // A short secret cannot be cut out without mangling the rest: the message goes instead.
    if (secret.size() < 4) return "(the database's message is withheld: it quotes the password)";
    for (auto at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
}

std::string connection_error(PGconn* conn) {
  std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  for (auto& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

Connection::Connection(std::string url) : url_(std::move(url)), redacted_(redact_url(url_)) {
  connect();
}

Connection::~Connection() { PQfinish(conn_); }

void Connection::connect() {
  PQfinish(conn_);
  // Later keywords override earlier ones, so a connect_timeout in the URL wins.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "postern", url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    auto failure =
        PgFailure(fmt::format("cannot connect to PostgreSQL at `{}`: {}", redacted_, error_text()));
    // Released here: a constructor that throws never runs the destructor that would.
    PQfinish(conn_);
    conn_ = nullptr;
    throw failure;
  }
  // Quiet: NOTICEs (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

std::string Connection::error_text() const {
  return without_url_secrets(connection_error(conn_), url_);
}

bool Connection::connected() const { return PQstatus(conn_) == CONNECTION_OK; }

void Connection::ensure_connected() {
  if (!connected()) connect();
}

Rows Connection::exec(const char* sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* result = PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, 0);
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
    PQclear(result);
    if (message.empty()) message = connection_error(conn_);
    message = without_url_secrets(std::move(message), url_);
    for (auto& c : message) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    while (!message.empty() && message.back() == ' ') message.pop_back();
    throw PgFailure(fmt::format("database error: {}", message));
  }
  ++statements_done_;
  return Rows(result);
}

void Connection::exec_script(const char* sql) {
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn_, sql));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw PgFailure(fmt::format("database error: {}", error_text()));
  }
  ++statements_done_;
}

Transaction::Transaction(Connection& conn, const char* begin) : conn_(conn) {
  conn_.exec_script(begin);
}

Transaction::~Transaction() {
  if (done_ || !conn_.connected()) return;
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn_.raw(), "ROLLBACK"));
}

void Transaction::commit() {
  conn_.exec_script("COMMIT");
  done_ = true;
}

}  // namespace postern::store::pg
