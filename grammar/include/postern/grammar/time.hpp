#pragma once
// RFC 3339 timestamps: the one parser and the printers every layer uses. Calendar arithmetic is
// Howard Hinnant's `date`, text is fmt. Pure: no locale, no time-zone database, no clock.
// Defined for the years 0000-9999 (the four-digit years RFC 3339 can write).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::timefmt {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

// Go's zero time.Time, 0001-01-01T00:00:00Z: what Tailscale's API writes for "never set".
inline constexpr std::int64_t kZeroTimeUnix = -62'135'596'800;
[[nodiscard]] constexpr bool is_zero_time(std::int64_t unix_seconds) {
  return unix_seconds == kZeroTimeUnix;
}

// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; `t`, `z` and a space for `T` are accepted
// (RFC 3339 §5.6 note). Fraction digits past microseconds are dropped. nullopt for anything
// else, including dates that do not exist (Feb 30), hour 24 and second 60 (Go's time.Parse, and
// so Tailscale, rejects leap seconds too).
[[nodiscard]] std::optional<Micros> parse_rfc3339_micros(std::string_view text);
// The same in Unix seconds; a fraction is dropped (rounding toward the past).
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// "2025-06-10T08:14:09Z"
[[nodiscard]] std::string format_rfc3339(std::int64_t unix_seconds);
// "2025-06-10T08:14:09.123Z" (log lines)
[[nodiscard]] std::string format_rfc3339_millis(std::chrono::system_clock::time_point t);
// "2025-06-10T08:14:09.550921+00:00": microseconds and a numeric UTC offset, as Kandji writes.
[[nodiscard]] std::string format_rfc3339_micros(Micros t);

}  // namespace postern::timefmt
