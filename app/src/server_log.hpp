#pragma once
// The server's log: one line per event, `<RFC 3339 UTC time> <level> <message>`, written by
// spdlog (whole lines, thread-safe). Every message passes through sync::redact with each
// registered secret first, so a token cannot reach the log even if some error text quoted it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spdlog {
class logger;
}

namespace postern::server {

class Log {
 public:
  // `level`: debug, info, warn or error (checked by the command line); lines below it are dropped.
  Log(std::ostream& out, const std::string& level);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // A value that must never be written (the API token, integration tokens read for a sync).
  void add_secret(std::string secret);

  // `text` with every registered secret replaced by [REDACTED] (for API responses too).
  [[nodiscard]] std::string scrub(std::string_view text);

  void debug(std::string_view message);
  void info(std::string_view message);
  void warn(std::string_view message);
  void error(std::string_view message);
  // A warning that may repeat at request rate (a failing store): written the 1st, 2nd, 4th, 8th,
  // ... time the same message comes, with its count, so a flood of failures costs the log a few
  // lines. No clock: the counts alone decide.
  void warn_repeating(std::string_view message);

 private:
  std::string line(std::string_view message);

  std::mutex mu_;  // guards secrets_
  std::vector<std::string> secrets_;
  std::unordered_map<std::string, std::uint64_t> repeats_;  // guarded by mu_; at most 256 messages
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace postern::server
