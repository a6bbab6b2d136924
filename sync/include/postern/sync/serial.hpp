#pragma once
// Serial-number normalisation shared by every provider (spec kandji.md §3.5).

#include <string>
#include <string_view>
#include <vector>

namespace postern::sync {

// Trim ASCII whitespace and NBSP at both ends, upper-case ASCII letters, drop `-` separators
// (so `c02-erin-0006` and `C02ERIN0006` meet); inner spaces are kept.
std::string normalise_serial(std::string_view serial);
// Known junk values SMBIOS reports ("To Be Filled By O.E.M.", "Not Available", ...), compared
// after normalisation; the empty string is a placeholder too.
bool is_placeholder_serial(std::string_view normalised);
// Normalise, drop placeholders, de-duplicate (order kept).
std::vector<std::string> usable_serials(const std::vector<std::string>& serials);

}  // namespace postern::sync
