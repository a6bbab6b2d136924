#pragma once
// Request bodies as JSON, read defensively: nesting is bounded without recursion, duplicate keys
// are errors, and no message quotes more than a short, escaped excerpt of the input.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace postern::http {

struct JsonBody {
  std::optional<nlohmann::json> value;  // set when the text is one valid JSON value
  std::string error;             // otherwise: one line, e.g. "... at line 3, column 7 (byte 41)"
  std::size_t error_offset = 0;  // byte offset of the error in the text

  [[nodiscard]] bool ok() const { return value.has_value(); }
};

// Parses `text` as exactly one JSON value. Arrays and objects nested deeper than `max_depth` are
// rejected before any parsing; so are duplicate object keys (the message names the key and its
// JSON Pointer path). Never throws on bad input.
[[nodiscard]] JsonBody parse_json_body(std::string_view text, std::size_t max_depth);

}  // namespace postern::http
