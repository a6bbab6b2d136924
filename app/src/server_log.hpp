#pragma once
// The server's log: one line per event on stderr, `<RFC 3339 time> <level> <message>`, written
// whole under a lock so lines from different threads never interleave. Every message passes
// through sync::redact with each registered secret first, so a token cannot reach the log even
// if some error text quoted it.

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace postern::server {

class Log {
 public:
  explicit Log(std::ostream& out);

  // A value that must never be written (the API token, integration tokens read for a sync).
  void add_secret(std::string secret);

  // `text` with every registered secret replaced by [REDACTED] (for API responses too).
  [[nodiscard]] std::string scrub(std::string_view text);

  void info(std::string_view message);
  void warn(std::string_view message);
  void error(std::string_view message);

 private:
  void write(std::string_view level, std::string_view message);

  std::mutex mu_;
  std::ostream& out_;
  std::vector<std::string> secrets_;
};

}  // namespace postern::server
