#pragma once
// What the simulator was asked and what it answered, for tests to assert on: in memory (GET
// /_sim/requests) and optionally appended to a JSON-lines file or written to stdout (`-`, for
// tests that wait on a request being answered). Entries never hold a token:
// the Authorization header is not recorded, and any known token value found in the path or query
// is replaced by `[REDACTED]`. Not thread-safe: SimState guards it.

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace postern::kandji_sim {

struct LogEntry {
  std::uint64_t request_no = 0;  // device_information requests only, else 0
  std::string time;              // RFC 3339, UTC, milliseconds
  std::string method;
  std::string path;
  std::string query;  // raw query string, as sent
  int status = 0;
  bool authorized = false;
  std::optional<std::uint64_t> page;
  std::vector<std::string> faults;  // kinds of the faults that fired
};

class RequestLog {
 public:
  // `file` "-": stdout. Throws std::runtime_error when the file cannot be opened for appending.
  explicit RequestLog(const std::optional<std::string>& file);

  void append(LogEntry entry, const std::vector<std::string>& secrets);
  void clear() { entries_.clear(); }
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  std::vector<nlohmann::json> entries_;
  std::ofstream file_;
  std::ostream* sink_ = nullptr;  // file_, std::cout or none
};

std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace postern::kandji_sim
