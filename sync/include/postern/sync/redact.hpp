#pragma once
// Secrets never leave the process: every string that may reach a log, an error, the store's
// status or the API goes through redact() first.

#include <string>
#include <string_view>

namespace postern::sync {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Replace every occurrence of `secret` (and of `Bearer <secret>`) in `text` with [REDACTED].
// An empty secret leaves the text unchanged.
std::string redact(std::string_view text, std::string_view secret);

// Cut `text` to at most `max_bytes`, never inside a UTF-8 sequence, appending "…" when cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace postern::sync
