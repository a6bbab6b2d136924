#pragma once
// Rules for posture attributes written through Postern (Tailscale API §2.6, spec policy-language
// §8.3; open points decided in docs/semantics.md#server): only the `custom:` namespace, key and
// value syntax and length limits, integers only, comment length. Tailnet-wide rules (one type per
// key, keys unique regardless of case) need the live state and are checked by the Tailnet.

#include <cstddef>
#include <optional>
#include <string_view>

#include "postern/control/outcome.hpp"
#include "postern/engine/inventory.hpp"

namespace postern::control {

inline constexpr std::string_view kCustomPrefix = "custom:";
inline constexpr std::size_t kMaxKeyLength = 128;    // including `custom:`
inline constexpr std::size_t kMaxStringValue = 255;  // characters (all ASCII by the rules)
inline constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1
inline constexpr std::size_t kMaxCommentLength = 200;          // Tailscale's API maxLength
// custom: attributes one device may hold (docs/semantics.md#server): bounds what a credential
// with the write scope can make every read, answer and policy compile carry.
inline constexpr std::size_t kMaxCustomAttributesPerDevice = 256;

// Why `key` cannot be written, or nullopt when it can.
std::optional<Error> check_custom_key(std::string_view key);
// A string of letters, digits, `_` and `.`; an integer within ±(2^53-1); or a boolean.
std::optional<Error> check_custom_value(const engine::AttrValue& value);
std::optional<Error> check_comment(std::string_view comment);

// "string", "number", "boolean".
std::string_view value_type_name(const engine::AttrValue& value);

}  // namespace postern::control
