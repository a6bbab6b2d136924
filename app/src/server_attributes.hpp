#pragma once
// Rules for API-written posture attributes (spec policy-language.md §8.3): only the `custom:`
// namespace, key and value syntax and length limits, integers only, one type per key across the
// tailnet, keys unique regardless of case. Decisions on the open points: docs/semantics.md#server.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "postern/engine/engine.hpp"

namespace postern::server {

inline constexpr std::string_view kCustomPrefix = "custom:";
inline constexpr std::size_t kMaxKeyLength = 128;    // including `custom:`
inline constexpr std::size_t kMaxStringValue = 255;  // characters (all ASCII by the rules)
inline constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1
inline constexpr std::size_t kMaxCommentLength = 1000;

// Why `key` cannot be written through the API, or nullopt when it can.
std::optional<std::string> check_custom_key(std::string_view key);

// The request's "value": a string of letters, digits, `_` and `.`; an integer within ±(2^53-1);
// or a boolean. nullopt + `error` otherwise.
std::optional<engine::AttrValue> parse_custom_value(const nlohmann::json& value,
                                                    std::string& error);

// "string", "number", "boolean".
std::string_view value_type_name(const engine::AttrValue& value);

// Whether writing `key` = `value` keeps the tailnet consistent: no other device holds the key
// with another type, and no device holds a key that differs from it only in case. The message
// says which device conflicts; nullopt when consistent. Expired values do not count.
std::optional<std::string> check_key_consistency(const engine::Snapshot& snapshot,
                                                 std::string_view key,
                                                 const engine::AttrValue& value);

}  // namespace postern::server
