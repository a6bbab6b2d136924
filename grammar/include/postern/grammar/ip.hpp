#pragma once
// IP addresses and prefixes (no I/O; parsing is pure).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::grammar::ip {

struct Address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses bytes[0..3], rest zero
  friend auto operator<=>(const Address&, const Address&) = default;
};

struct Prefix {
  Address address;          // masked to `length`
  std::uint8_t length = 0;  // 0..32 or 0..128
  friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

// Inclusive range, same family both ends (used by ipsets `a-b`).
struct Range {
  Address first;
  Address last;
};

std::optional<Address> parse_address(std::string_view text);
std::optional<Prefix> parse_prefix(
    std::string_view text);  // "a.b.c.d/len", "v6/len"; bare address = host prefix
std::optional<Range> parse_range(std::string_view text);  // "a-b"
std::string to_string(const Address& address);
// Appends the same text as to_string (for answers built in one buffer; IPv4 without sprintf).
void append_to(std::string& out, const Address& address);
std::string to_string(const Prefix& prefix);  // "10.0.0.0/8"; host prefixes print as bare address
bool contains(const Prefix& prefix, const Address& address);
Prefix host_prefix(const Address& address);

}  // namespace postern::grammar::ip
