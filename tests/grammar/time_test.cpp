#include "postern/grammar/time.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace time_test {

namespace timefmt = postern::timefmt;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct Valid {
  const char* text;
  std::int64_t unix_seconds;
};

}  // namespace

TEST_CASE("RFC 3339 times parse to Unix seconds", "[grammar][time]") {
  // Expected values from `date -u -d TEXT +%s`.
  const Valid cases[] = {
      {"2025-06-10T08:14:09Z", 1'749'543'249},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1},
      {"2000-02-29T12:00:00Z", 951'825'600},  // divisible by 400: leap
      {"2024-02-29T00:00:00Z", 1'709'164'800},
      {"9999-12-31T23:59:59Z", 253'402'300'799},
      {"2025-06-10T08:14:09+02:00", 1'749'536'049},
      {"2025-06-10T08:14:09-05:30", 1'749'563'049},
      {"2025-06-10T08:14:09+00:00", 1'749'543'249},
      {"2025-06-10T08:14:09.550921+00:00", 1'749'543'249},  // Kandji's form
      {"2025-06-10T08:14:09.999999999Z", 1'749'543'249},    // nanoseconds: fraction dropped
      {"1969-12-31T23:59:59.5Z", -1},                       // toward the past, not toward zero
      {"2025-06-10t08:14:09z", 1'749'543'249},              // RFC 3339 §5.6 note
      {"2025-06-10 08:14:09Z", 1'749'543'249},
      {"2025-12-31T23:30:00-01:00", 1'767'227'400},  // the offset crosses into the next year
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(timefmt::parse_rfc3339(c.text) == c.unix_seconds);
  }
}

TEST_CASE("invalid RFC 3339 times are rejected", "[grammar][time]") {
  const char* cases[] = {
      "",
      "2025-06-10",
      "2025-06-10T08:14:09",  // no offset
      "2025-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",  // not a leap year
      "1900-02-29T00:00:00Z",  // divisible by 100: not a leap year
      "2025-04-31T00:00:00Z",
      "2025-00-10T00:00:00Z",
      "2025-13-10T00:00:00Z",
      "2025-06-00T00:00:00Z",
      "2025-06-10T24:00:00Z",
      "2025-06-10T08:60:00Z",
      "2025-06-10T23:59:60Z",  // leap second: Go's time.Parse rejects it too
      "2025-06-10T08:14:09.Z",
      "2025-06-10T08:14:09+2:00",
      "2025-06-10T08:14:09+24:00",
      "2025-06-10T08:14:09+02:60",
      "2025-06-10T08:14:09+0200",
      "2025-06-10T08:14:09Z ",
      "2025-06-10T08:14:09ZZ",
      "2025-6-10T08:14:09Z",
      "+025-06-10T08:14:09Z",
      "2025-06-10X08:14:09Z",
      "2025/06/10T08:14:09Z",
      "２025-06-10T08:14:09Z",
  };
  for (const char* text : cases) {
    INFO(text);
    CHECK_FALSE(timefmt::parse_rfc3339(text));
  }
}

TEST_CASE("Tailscale's zero time is representable and recognised", "[grammar][time]") {
  const auto zero = timefmt::parse_rfc3339("0001-01-01T00:00:00Z");
  REQUIRE(zero);
  CHECK(timefmt::is_zero_time(*zero));
  CHECK(*zero == timefmt::kZeroTimeUnix);
  CHECK(timefmt::format_rfc3339(*zero) == "0001-01-01T00:00:00Z");
  CHECK_FALSE(timefmt::is_zero_time(0));
  CHECK_FALSE(timefmt::is_zero_time(*timefmt::parse_rfc3339("0001-01-01T00:00:01Z")));
}

TEST_CASE("RFC 3339 printing round-trips through the parser", "[grammar][time]") {
  CHECK(timefmt::format_rfc3339(1'749'543'249) == "2025-06-10T08:14:09Z");
  CHECK(timefmt::format_rfc3339(-1) == "1969-12-31T23:59:59Z");
  CHECK(timefmt::format_rfc3339(951'825'600) == "2000-02-29T12:00:00Z");
  for (const std::int64_t t :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{951'782'400}, std::int64_t{4'070'908'800},
        std::int64_t{253'402'300'799}, timefmt::kZeroTimeUnix}) {
    INFO(t);
    CHECK(timefmt::parse_rfc3339(timefmt::format_rfc3339(t)) == t);
  }
}

TEST_CASE("sub-second printers keep their precision", "[grammar][time]") {
  const std::chrono::system_clock::time_point log_time{seconds{1'749'543'249} + milliseconds{7}};
  CHECK(timefmt::format_rfc3339_millis(log_time) == "2025-06-10T08:14:09.007Z");
  CHECK(timefmt::format_rfc3339_millis(std::chrono::system_clock::time_point{milliseconds{-1}}) ==
        "1969-12-31T23:59:59.999Z");

  const timefmt::Micros kandji{seconds{1'749'543'249} + microseconds{550'921}};
  const std::string text = timefmt::format_rfc3339_micros(kandji);
  CHECK(text == "2025-06-10T08:14:09.550921+00:00");
  CHECK(timefmt::parse_rfc3339_micros(text) == kandji);
  CHECK(timefmt::parse_rfc3339_micros("2025-06-10T10:14:09.5+02:00") ==
        timefmt::Micros{seconds{1'749'543'249} + microseconds{500'000}});
}

}  // namespace time_test
