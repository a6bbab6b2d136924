#include "postern/grammar/time.hpp"

#include <date/date.h>
#include <fmt/format.h>

#include <charconv>

namespace postern::timefmt {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Exactly `count` decimal digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  const char* first = text.data() + pos;
  const auto [end, error] = std::from_chars(first, first + count, value);
  if (error != std::errc{} || end != first + count || value < 0) return std::nullopt;
  return value;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `.ddd…` at `pos` (advanced past it) as microseconds; zero when there is no fraction.
std::optional<microseconds> fraction(std::string_view text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return microseconds{0};
  ++pos;
  const std::size_t start = pos;
  microseconds::rep value = 0;
  for (; pos < text.size() && is_digit(text[pos]); ++pos) {
    if (pos - start < 6) value = value * 10 + (text[pos] - '0');
  }
  if (pos == start) return std::nullopt;
  for (auto kept = pos - start; kept < 6; ++kept) value *= 10;
  return microseconds{value};
}

// `Z` or `±HH:MM` at `pos`, ending the text: the offset east of UTC.
std::optional<minutes> utc_offset(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return std::nullopt;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    return pos + 1 == text.size() ? std::optional<minutes>(0) : std::nullopt;
  }
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  if (pos + 6 != text.size() || text[pos + 3] != ':') return std::nullopt;
  const auto h = digits(text, pos + 1, 2);
  const auto m = digits(text, pos + 4, 2);
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  const minutes offset = hours{*h} + minutes{*m};
  return text[pos] == '-' ? -offset : offset;
}

std::string date_and_time(Micros t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<microseconds> clock{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count());
}

microseconds::rep subseconds(Micros t) { return (t - date::floor<seconds>(t)).count(); }

}  // namespace

std::optional<Micros> parse_rfc3339_micros(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  const date::year_month_day date{date::year{*year}, date::month{static_cast<unsigned>(*month)},
                                  date::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  std::size_t pos = 19;
  const auto sub = fraction(text, pos);
  if (!sub) return std::nullopt;
  const auto offset = utc_offset(text, pos);
  if (!offset) return std::nullopt;
  return Micros{date::sys_days{date}} + hours{*hour} + minutes{*minute} + seconds{*second} + *sub -
         *offset;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  const auto t = parse_rfc3339_micros(text);
  if (!t) return std::nullopt;
  return date::floor<seconds>(*t).time_since_epoch().count();
}

std::string format_rfc3339(std::int64_t unix_seconds) {
  return date_and_time(Micros{seconds{unix_seconds}}) + 'Z';
}

std::string format_rfc3339_millis(std::chrono::system_clock::time_point t) {
  const auto micros = date::floor<microseconds>(t);
  return fmt::format("{}.{:03}Z", date_and_time(micros), subseconds(micros) / 1000);
}

std::string format_rfc3339_micros(Micros t) {
  return fmt::format("{}.{:06}+00:00", date_and_time(t), subseconds(t));
}

}  // namespace postern::timefmt
