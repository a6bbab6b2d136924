#pragma once
// An attribute value as JSON, the one rendering every answer, listing and audit event uses:
// numbers are held as doubles, but a whole number within ±(2^53-1) (every value the API accepts)
// is written as an integer, `13`, never `13.0`.

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "postern/control/attribute_rules.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/grammar/json_value.hpp"

namespace postern::control {

// A number written as an integer: whole and within ±(2^53-1).
inline std::optional<std::int64_t> whole_number(double number) {
  if (std::trunc(number) != number || std::fabs(number) > kMaxSafeInteger) return std::nullopt;
  return static_cast<std::int64_t>(number);
}

inline nlohmann::json attribute_value_json(const engine::AttrValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          if (const auto whole = whole_number(v)) return *whole;
        }
        return v;
      },
      value);
}

// The same, appended as JSON text (answers and audit details written with fmt). Every attribute
// answer writes its values through here: whole numbers and booleans without a nlohmann value
// (whose number output asks the C library for the locale's decimal point).
inline void append_attribute_value_json(std::string& out, const engine::AttrValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    grammar::json::append_json_string(out, *text);
  } else if (const auto* flag = std::get_if<bool>(&value)) {
    out += *flag ? "true" : "false";
  } else if (const auto whole = whole_number(std::get<double>(value))) {
    const fmt::format_int digits(*whole);
    out.append(digits.data(), digits.size());
  } else {
    out += attribute_value_json(value).dump();  // a fraction, in nlohmann's shortest form
  }
}

}  // namespace postern::control
