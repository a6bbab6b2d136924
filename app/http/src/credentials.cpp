#include "postern/http/credentials.hpp"

#include <array>
#include <cstdint>

#include "text.hpp"

namespace postern::http {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with optional padding; nullopt for any other character.
std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : text) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6U) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> static_cast<unsigned>(bit_count)) & 0xffU);
    }
  }
  if (bit_count >= 6) return std::nullopt;  // a lone trailing character encodes no byte
  return out;
}

}  // namespace

std::optional<Credential> parse_authorization(std::string_view header_value) {
  const auto value = detail::trim(header_value);
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto scheme = value.substr(0, space);
  const auto parameter = detail::trim(value.substr(space + 1));
  if (parameter.empty() || parameter.find(' ') != std::string_view::npos) return std::nullopt;

  if (detail::ascii_iequals(scheme, "Bearer")) {
    return Credential{Credential::Scheme::Bearer, std::string(parameter), {}};
  }
  if (!detail::ascii_iequals(scheme, "Basic")) return std::nullopt;
  const auto decoded = base64_decode(parameter);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto token = colon > 0 ? decoded->substr(0, colon) : decoded->substr(colon + 1);
  if (token.empty()) return std::nullopt;
  auto password = colon > 0 ? decoded->substr(colon + 1) : std::string();
  return Credential{Credential::Scheme::Basic, std::move(token), std::move(password)};
}

}  // namespace postern::http
