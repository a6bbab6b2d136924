#pragma once
// A JSON object of plain members — strings without escapes, numbers, booleans — read in one pass
// (decisions H28): request bodies such as an attribute write's {"value": 13} are read without a
// document tree. Anything else (a nested or null value, an escape, a repeated key, text that is
// not well-formed JSON) gives nothing, and the caller reads the text with its validating reader,
// which says what is wrong. So a body read here is one that reader would have read alike.
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace postern::control {

struct PlainMember {
  std::string_view key;
  std::variant<std::string_view, double, bool> value;
};

class PlainObject {
 public:
  // In the text's order; the views point into the object's own copy of the text.
  [[nodiscard]] std::span<const PlainMember> members() const { return members_; }

 private:
  friend std::optional<PlainObject> read_plain_object(std::string_view, std::size_t);
  std::unique_ptr<char[]> text_;
  std::vector<PlainMember> members_;
};

// At most kMaxPlainMembers members; `max_depth` is the caller's nesting limit, counted as its
// validating reader counts it (an object's members are at depth 2).
inline constexpr std::size_t kMaxPlainMembers = 8;
[[nodiscard]] std::optional<PlainObject> read_plain_object(std::string_view json_text,
                                                           std::size_t max_depth);

}  // namespace postern::control
