#pragma once
// The query string of GET /api/v1/prism/device_information: `limit`, `offset`, `cursor` and the
// row filters (`filter`, `device_families`, `blueprint_ids`), and the opaque cursor format.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "device_row.hpp"

namespace postern::kandji_sim {

enum class PageStyle {
  Cursor,  // newer Prism: a `cursor` string while rows remain (offset still honoured)
  Offset,  // older Prism: `cursor` always null, `cursor` parameters ignored
};

inline constexpr std::size_t kDefaultLimit = 25;  // Prism's page size when no `limit` is sent
inline constexpr std::size_t kMaxLimit = 300;     // Prism's documented hard upper limit

struct RowCondition {
  std::string field;
  std::string op;  // eq, in, not_in, like, not_like, lt, gt, lte, gte
  Row operand;
};

struct PageQuery {
  std::optional<std::int64_t> offset;      // as sent (echoed in the envelope)
  std::optional<std::uint64_t> after_seq;  // decoded cursor: serve devices after this one
  std::size_t limit = kDefaultLimit;       // the page size applied
  std::string fingerprint;                 // binds a cursor to the query it came from
  std::vector<RowCondition> conditions;
  std::vector<std::string> families;    // device_families
  std::vector<std::string> blueprints;  // blueprint_ids
};

struct QueryError {
  int status = 400;
  std::string detail;
};

using QueryParams = std::multimap<std::string, std::string>;

// `page_size` is the server's own maximum (--page-size); a smaller `limit` wins, a `limit` above
// 300 is clamped to 300.
std::variant<PageQuery, QueryError> parse_page_query(const QueryParams& params,
                                                     std::size_t page_size, PageStyle style);

[[nodiscard]] bool matches(const PageQuery& query, const Row& row);

// Opaque to clients: base64 (with `+/=`, so clients must URL-encode it) of a versioned
// "after device N" position plus the query fingerprint.
std::string encode_cursor(std::uint64_t after_seq, const std::string& fingerprint);

}  // namespace postern::kandji_sim
