// IPv4/IPv6 addresses and prefixes. Strict forms only: no leading zeros in IPv4 octets,
// no zone ids, prefix lengths in range.
#include "postern/grammar/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace postern::grammar::ip {
namespace {

// One pass per octet: every check parses its endpoints' addresses through here.
std::optional<Address> parse_v4(std::string_view text) {
  Address out;
  const char* at = text.data();
  const char* const end = at + text.size();
  for (std::size_t octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (at == end || *at != '.') return std::nullopt;
      ++at;
    }
    const char* const first = at;
    unsigned value = 0;
    for (; at != end && *at >= '0' && *at <= '9'; ++at) {
      if (at - first == 3) return std::nullopt;  // a fourth digit
      value = value * 10 + static_cast<unsigned>(*at - '0');
    }
    if (at == first || (at - first > 1 && *first == '0') || value > 255) return std::nullopt;
    out.bytes[octet] = static_cast<std::uint8_t>(value);
  }
  if (at != end) return std::nullopt;
  return out;
}

std::optional<Address> parse_v6(std::string_view text) {
  if (text.empty() || text.size() > 45 || text.find(':') == std::string_view::npos) {
    return std::nullopt;
  }
  char buffer[46] = {};
  std::memcpy(buffer, text.data(), text.size());
  Address out;
  out.v6 = true;
  if (inet_pton(AF_INET6, buffer, out.bytes.data()) != 1) return std::nullopt;
  return out;
}

Address mask(Address address, std::uint8_t length) {
  const std::size_t total = address.v6 ? 16 : 4;
  for (std::size_t i = 0; i < total; ++i) {
    const int bits = static_cast<int>(length) - static_cast<int>(i * 8);
    if (bits >= 8) continue;
    const unsigned keep = bits <= 0 ? 0U : (0xFF00U >> static_cast<unsigned>(bits)) & 0xFFU;
    address.bytes[i] = static_cast<std::uint8_t>(address.bytes[i] & keep);
  }
  return address;
}

}  // namespace

std::optional<Address> parse_address(std::string_view text) {
  if (auto v4 = parse_v4(text)) return v4;
  return parse_v6(text);
}

std::optional<Prefix> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    const auto address = parse_address(text);
    if (!address) return std::nullopt;
    return host_prefix(*address);
  }
  const auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  const auto len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3 || (len_text.size() > 1 && len_text[0] == '0')) {
    return std::nullopt;
  }
  unsigned length = 0;
  const auto [ptr, ec] =
      std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (ec != std::errc{} || ptr != len_text.data() + len_text.size()) return std::nullopt;
  if (length > (address->v6 ? 128U : 32U)) return std::nullopt;
  const auto len8 = static_cast<std::uint8_t>(length);
  return Prefix{mask(*address, len8), len8};
}

std::optional<Range> parse_range(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto first = parse_address(text.substr(0, dash));
  const auto last = parse_address(text.substr(dash + 1));
  if (!first || !last || first->v6 != last->v6 || *last < *first) return std::nullopt;
  return Range{*first, *last};
}

std::string to_string(const Address& address) {
  std::string out;
  append_to(out, address);
  return out;
}

void append_to(std::string& out, const Address& address) {
  if (!address.v6) {
    // Written into a buffer and appended once: every check's answer labels its endpoints.
    char text[16];
    char* at = text;
    for (std::size_t i = 0; i < 4; ++i) {
      if (i > 0) *at++ = '.';
      const unsigned octet = address.bytes[i];
      if (octet >= 100) *at++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *at++ = static_cast<char>('0' + octet / 10 % 10);
      *at++ = static_cast<char>('0' + octet % 10);
    }
    out.append(text, static_cast<std::size_t>(at - text));
    return;
  }
  // IPv6 text has the zero-run compression rules of RFC 5952, which inet_ntop applies.
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, address.bytes.data(), buffer, sizeof buffer);
  out += buffer;
}

std::string to_string(const Prefix& prefix) {
  const unsigned full = prefix.address.v6 ? 128U : 32U;
  if (prefix.length == full) return to_string(prefix.address);
  return to_string(prefix.address) + "/" + std::to_string(prefix.length);
}

bool contains(const Prefix& prefix, const Address& address) {
  if (prefix.address.v6 != address.v6) return false;
  return mask(address, prefix.length) == prefix.address;
}

Prefix host_prefix(const Address& address) {
  return Prefix{address, static_cast<std::uint8_t>(address.v6 ? 128 : 32)};
}

}  // namespace postern::grammar::ip
