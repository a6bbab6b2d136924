// compare_versions: spec §5.5, step by step.
#include "postern/engine/cmpver.hpp"

#include <cstddef>

namespace postern::engine {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits off the leading run of digits (want_digits) or non-digits from `rest`.
std::string_view take_run(std::string_view& rest, bool want_digits) {
  std::size_t n = 0;
  while (n < rest.size() && is_digit(rest[n]) == want_digits) ++n;
  const std::string_view run = rest.substr(0, n);
  rest.remove_prefix(n);
  return run;
}

int sign(int value) { return (value > 0) - (value < 0); }

// Byte-wise with bytes as unsigned, the shorter prefix first.
int compare_text(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// Unsigned integers of any length: drop leading zeros (an empty run is 0), then the longer number
// is larger, and equal lengths compare digit by digit.
int compare_number(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return compare_text(a, b);
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) noexcept {
  while (!a.empty() || !b.empty()) {
    if (const int text = compare_text(take_run(a, false), take_run(b, false)); text != 0) {
      return sign(text);
    }
    if (const int number = compare_number(take_run(a, true), take_run(b, true)); number != 0) {
      return sign(number);
    }
  }
  return 0;
}

}  // namespace postern::engine
