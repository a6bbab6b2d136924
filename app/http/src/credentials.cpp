#include "postern/http/credentials.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "text.hpp"

namespace postern::http {
namespace {

// Standard base64, its padding optional (decoded by OpenSSL); nullopt for anything else.
// EVP_DecodeBlock itself skips surrounding whitespace and wants whole groups of four, so the text
// is checked first and padded to a whole group.
std::optional<std::string> base64_decode(std::string_view text) {
  const auto alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  std::string_view digits = text;
  for (int i = 0; i < 2 && !digits.empty() && digits.back() == '='; ++i) digits.remove_suffix(1);
  if (!std::all_of(digits.begin(), digits.end(), alphabet)) return std::nullopt;
  if (digits.size() % 4 == 1) return std::nullopt;  // a lone trailing character encodes no byte
  if (digits.size() != text.size() && text.size() % 4 != 0) return std::nullopt;
  std::string padded(digits);
  const std::size_t padding = (4 - padded.size() % 4) % 4;
  padded.append(padding, '=');
  std::string out(padded.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(padded.data()),
                                      static_cast<int>(padded.size()));
  if (written < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(written) - padding);  // the padding decodes to zeros
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

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
