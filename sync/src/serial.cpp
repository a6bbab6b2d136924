#include "postern/sync/serial.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace postern::sync {
namespace {

bool is_space_at(std::string_view s, std::size_t i, std::size_t& width) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
    width = 1;
    return true;
  }
  if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) {
    width = 2;  // NBSP
    return true;
  }
  return false;
}

}  // namespace

std::string normalise_serial(std::string_view serial) {
  std::size_t width = 0;
  while (!serial.empty() && is_space_at(serial, 0, width)) serial.remove_prefix(width);
  // Trailing: strip plain whitespace, then a trailing NBSP pair, repeatedly.
  for (bool again = true; again && !serial.empty();) {
    again = false;
    const auto last = static_cast<unsigned char>(serial.back());
    if (last == ' ' || last == '\t' || last == '\n' || last == '\r' || last == '\f' ||
        last == '\v') {
      serial.remove_suffix(1);
      again = true;
    } else if (serial.size() >= 2 && last == 0xA0 &&
               static_cast<unsigned char>(serial[serial.size() - 2]) == 0xC2) {
      serial.remove_suffix(2);
      again = true;
    }
  }
  std::string out;
  out.reserve(serial.size());
  for (const char ch : serial) {
    if (ch == '-') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return out;
}

bool is_placeholder_serial(std::string_view normalised) {
  static constexpr std::array<std::string_view, 16> kPlaceholders = {
      "",
      "TO BE FILLED BY O.E.M.",
      "SYSTEM SERIAL NUMBER",
      "CHASSIS SERIAL NUMBER",
      "BASE BOARD SERIAL NUMBER",
      "DEFAULT STRING",
      "NOT SPECIFIED",
      "NOT AVAILABLE",
      "NONE",
      "UNKNOWN",
      "N/A",
      "NA",
      "0",
      "0123456789",
      "123456789",
      "SERIAL",
  };
  return std::find(kPlaceholders.begin(), kPlaceholders.end(), normalised) != kPlaceholders.end();
}

std::vector<std::string> usable_serials(const std::vector<std::string>& serials) {
  std::vector<std::string> out;
  for (const auto& raw : serials) {
    std::string serial = normalise_serial(raw);
    if (is_placeholder_serial(serial)) continue;
    if (std::find(out.begin(), out.end(), serial) == out.end()) out.push_back(std::move(serial));
  }
  return out;
}

}  // namespace postern::sync
