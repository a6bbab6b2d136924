#pragma once
// ASCII case folding, as names, attribute keys and protocol names compare everywhere: without
// the C library's per-byte locale call, inline because request paths fold what they look up.
// And the ASCII control bytes that one-line values must not carry.
#include <string>
#include <string_view>

namespace postern::grammar {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

[[nodiscard]] inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

[[nodiscard]] constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a == b) return true;  // most names arrive spelled as they are looked up
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Whether `text` holds an ASCII control byte (below 0x20, or DEL): what a header value, a log
// line or a one-line description must not carry.
[[nodiscard]] constexpr bool has_ascii_control(std::string_view text) noexcept {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace postern::grammar
