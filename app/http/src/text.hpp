#pragma once
// Small text helpers shared by the layer's sources.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "postern/grammar/ascii.hpp"

namespace postern::http::detail {

// Header names, schemes and media types compare as ASCII, case-insensitively.
using grammar::ascii_iequals;
using grammar::ascii_lowered;
[[nodiscard]] std::string_view trim(std::string_view text);

// At most `max_bytes` of `text` with control and non-ASCII bytes shown as \xNN, and "..." when
// cut: safe to put in a message about attacker-supplied input.
[[nodiscard]] std::string excerpt(std::string_view text, std::size_t max_bytes = 40);

// %XX decoding; `plus_is_space` for query strings. nullopt for a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace postern::http::detail
