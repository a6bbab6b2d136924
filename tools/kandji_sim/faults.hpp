#pragma once
// Fault injection for GET /api/v1/prism/device_information, armed through POST /_sim/faults.
// A fault fires on the requests its selectors pick (`on_request`: the Nth device_information
// request, 1-based; `page`: the page the request asks for, 1-based; none: the next request) and
// stays armed for `times` firings (default 1, -1 = forever). Not thread-safe: SimState guards it.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace postern::kandji_sim {

enum class FaultKind {
  Status,             // any status code; optional Retry-After, RateLimit-Reset, HTML or raw body
  Slow,               // delay the response by delay_ms
  Truncated,          // body cut mid-JSON (or the connection dropped mid-body)
  Malformed,          // body that is not JSON at all
  CursorWrongType,    // `cursor` as a number
  MissingData,        // envelope without `data`
  RevokeTokenOnPage,  // the token stops working from `page` on: 401
  DuplicateRows,      // the page starts `count` rows early, repeating the previous page's tail
  Padded,             // the page's JSON followed by spaces up to `bytes` (valid, and huge)
};

struct Fault {
  FaultKind kind = FaultKind::Status;
  std::optional<std::uint64_t> on_request;
  std::optional<std::uint64_t> page;
  std::int64_t times = 1;  // remaining firings, -1 = forever

  int status = 500;
  std::optional<std::string> retry_after;
  std::optional<std::string> ratelimit_reset;
  bool html = false;
  std::optional<std::string> body;             // raw body text for `status`
  std::map<std::string, std::string> headers;  // extra or overriding response headers
  std::uint64_t delay_ms = 0;
  std::uint64_t count = 1;       // rows repeated by duplicate_rows
  std::uint64_t bytes = 0;       // padded: the body's size
  bool drop_connection = false;  // truncated: announce the full length, then close

  [[nodiscard]] bool selects(std::uint64_t request_no, std::uint64_t page_no) const;
  [[nodiscard]] nlohmann::json to_json() const;
};

std::string to_string(FaultKind kind);

// Parses one fault object or an array of them. Throws std::invalid_argument naming the problem
// (unknown kind or key, wrong type, missing `page` for revoke_token_on_page, ...).
std::vector<Fault> parse_faults(const nlohmann::json& doc);

class FaultQueue {
 public:
  void add(std::vector<Fault> faults);
  void clear() { faults_.clear(); }
  // Every armed fault that selects this request, each firing once (its `times` counts down).
  std::vector<Fault> take(std::uint64_t request_no, std::uint64_t page_no);
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  std::vector<Fault> faults_;
};

}  // namespace postern::kandji_sim
