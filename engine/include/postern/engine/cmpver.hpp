#pragma once
// Version comparison for posture conditions (spec policy-language.md §5.5, after Tailscale's
// util/cmpver): alternating non-digit and digit runs, digit runs compared as unsigned integers.

#include <string_view>

namespace postern::engine {

// <0 when a sorts before b, 0 when equal, >0 after. Total order: antisymmetric and transitive.
// Digit runs of any length compare numerically (no overflow); an empty run counts as 0; only ASCII
// `0-9` are digits; non-digit runs compare byte-wise as unsigned bytes.
int compare_versions(std::string_view a, std::string_view b) noexcept;

}  // namespace postern::engine
