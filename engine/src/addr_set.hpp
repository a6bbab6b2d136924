#pragma once
// Sets of IP addresses as sorted disjoint inclusive intervals, one list per family. Used for
// address selectors, ipsets, routes and autogroup:internet.

#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "postern/grammar/ip.hpp"

namespace postern::engine::detail {

struct U128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend auto operator<=>(const U128&, const U128&) = default;
};

std::uint32_t v4_value(const grammar::ip::Address& address);
U128 v6_value(const grammar::ip::Address& address);
grammar::ip::Address v4_address(std::uint32_t value);
grammar::ip::Address v6_address(U128 value);

class AddrSet {
 public:
  void add(const grammar::ip::Prefix& prefix);
  void add_range(const grammar::ip::Address& first, const grammar::ip::Address& last);
  void add(const AddrSet& other);
  void remove(const AddrSet& other);
  // Keeps only the addresses also in `other` (intersection).
  void retain(const AddrSet& other);
  [[nodiscard]] bool contains(const grammar::ip::Address& address) const;
  [[nodiscard]] bool overlaps(const grammar::ip::Prefix& prefix) const;
  [[nodiscard]] bool empty() const { return v4_.empty() && v6_.empty(); }
  // Minimal covering list: prefixes where an interval is exactly a prefix, else "a-b" ranges.
  [[nodiscard]] std::vector<std::string> to_strings() const;

 private:
  static void normalize4(std::vector<std::pair<std::uint32_t, std::uint32_t>>& v);
  static void normalize6(std::vector<std::pair<U128, U128>>& v);

  std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_;
  std::vector<std::pair<U128, U128>> v6_;
};

// 0.0.0.0/0 and ::/0.
AddrSet all_addresses();
// 100.64.0.0/10 minus 100.115.92.0/23, plus fd7a:115c:a1e0::/48 (spec §3.2).
AddrSet tailnet_ranges();
// 0.0.0.0/0 minus private and CGNAT ranges, plus 2000::/3 (spec §3.3).
AddrSet internet_ranges();

}  // namespace postern::engine::detail
