#include "addr_set.hpp"

#include <algorithm>

namespace postern::engine::detail {
namespace ip = grammar::ip;

std::uint32_t v4_value(const ip::Address& address) {
  return (std::uint32_t{address.bytes[0]} << 24) | (std::uint32_t{address.bytes[1]} << 16) |
         (std::uint32_t{address.bytes[2]} << 8) | std::uint32_t{address.bytes[3]};
}

U128 v6_value(const ip::Address& address) {
  U128 out;
  for (std::size_t i = 0; i < 8; ++i) out.hi = (out.hi << 8) | address.bytes[i];
  for (std::size_t i = 8; i < 16; ++i) out.lo = (out.lo << 8) | address.bytes[i];
  return out;
}

ip::Address v4_address(std::uint32_t value) {
  ip::Address a;
  for (std::size_t i = 0; i < 4; ++i) {
    a.bytes[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  }
  return a;
}

ip::Address v6_address(U128 value) {
  ip::Address a;
  a.v6 = true;
  for (std::size_t i = 0; i < 8; ++i) {
    a.bytes[i] = static_cast<std::uint8_t>(value.hi >> (56 - 8 * i));
    a.bytes[8 + i] = static_cast<std::uint8_t>(value.lo >> (56 - 8 * i));
  }
  return a;
}

namespace {

U128 inc(U128 v) {
  ++v.lo;
  if (v.lo == 0) ++v.hi;
  return v;
}
U128 dec(U128 v) {
  if (v.lo == 0) --v.hi;
  --v.lo;
  return v;
}
constexpr U128 kMax128{~std::uint64_t{0}, ~std::uint64_t{0}};

std::pair<U128, U128> v6_bounds(const ip::Prefix& p) {
  const U128 base = v6_value(p.address);
  U128 last = base;
  const unsigned host_bits = 128u - p.length;
  if (host_bits >= 64) {
    last.lo = ~std::uint64_t{0};
    last.hi |= host_bits >= 128 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (host_bits - 64)) - 1);
  } else if (host_bits > 0) {
    last.lo |= (std::uint64_t{1} << host_bits) - 1;
  }
  return {base, last};
}

std::pair<std::uint32_t, std::uint32_t> v4_bounds(const ip::Prefix& p) {
  const std::uint32_t base = v4_value(p.address);
  const unsigned host_bits = 32u - p.length;
  const std::uint32_t span =
      host_bits >= 32 ? ~std::uint32_t{0} : ((std::uint32_t{1} << host_bits) - 1);
  return {base, base | span};
}

template <class T, class Inc, class Dec>
std::vector<std::pair<T, T>> subtract(const std::vector<std::pair<T, T>>& a,
                                      const std::vector<std::pair<T, T>>& b, T max_value,
                                      Inc inc_fn, Dec dec_fn) {
  std::vector<std::pair<T, T>> out;
  std::size_t j = 0;
  for (auto [first, last] : a) {
    T cur = first;
    bool alive = true;
    while (j < b.size() && b[j].second < cur) ++j;
    std::size_t k = j;
    while (alive && k < b.size() && b[k].first <= last) {
      if (b[k].first > cur) out.emplace_back(cur, dec_fn(b[k].first));
      if (b[k].second >= last) {
        alive = false;
      } else {
        cur = inc_fn(b[k].second);
      }
      ++k;
    }
    if (alive) out.emplace_back(cur, last);
    (void)max_value;
  }
  return out;
}

}  // namespace

void AddrSet::normalize4(std::vector<std::pair<std::uint32_t, std::uint32_t>>& v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& r : v) {
    if (!out.empty() &&
        (out.back().second == ~std::uint32_t{0} || r.first <= out.back().second + 1)) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  v = std::move(out);
}

void AddrSet::normalize6(std::vector<std::pair<U128, U128>>& v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<U128, U128>> out;
  for (const auto& r : v) {
    if (!out.empty() && (out.back().second == kMax128 || r.first <= inc(out.back().second))) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  v = std::move(out);
}

void AddrSet::add(const ip::Prefix& prefix) {
  if (prefix.address.v6) {
    v6_.push_back(v6_bounds(prefix));
    normalize6(v6_);
  } else {
    v4_.push_back(v4_bounds(prefix));
    normalize4(v4_);
  }
}

void AddrSet::add_range(const ip::Address& first, const ip::Address& last) {
  if (first.v6 != last.v6) return;
  if (first.v6) {
    auto a = v6_value(first), b = v6_value(last);
    if (b < a) std::swap(a, b);
    v6_.emplace_back(a, b);
    normalize6(v6_);
  } else {
    auto a = v4_value(first), b = v4_value(last);
    if (b < a) std::swap(a, b);
    v4_.emplace_back(a, b);
    normalize4(v4_);
  }
}

void AddrSet::add(const AddrSet& other) {
  v4_.insert(v4_.end(), other.v4_.begin(), other.v4_.end());
  v6_.insert(v6_.end(), other.v6_.begin(), other.v6_.end());
  normalize4(v4_);
  normalize6(v6_);
}

void AddrSet::remove(const AddrSet& other) {
  v4_ = subtract<std::uint32_t>(
      v4_, other.v4_, ~std::uint32_t{0}, [](std::uint32_t x) { return x + 1; },
      [](std::uint32_t x) { return x - 1; });
  v6_ = subtract<U128>(v6_, other.v6_, kMax128, inc, dec);
}

bool AddrSet::contains(const ip::Address& address) const {
  if (address.v6) {
    const U128 v = v6_value(address);
    auto it = std::upper_bound(v6_.begin(), v6_.end(), v,
                               [](const U128& x, const auto& r) { return x < r.first; });
    return it != v6_.begin() && v <= std::prev(it)->second;
  }
  const std::uint32_t v = v4_value(address);
  auto it = std::upper_bound(v4_.begin(), v4_.end(), v,
                             [](std::uint32_t x, const auto& r) { return x < r.first; });
  return it != v4_.begin() && v <= std::prev(it)->second;
}

bool AddrSet::overlaps(const ip::Prefix& prefix) const {
  if (prefix.address.v6) {
    // Named copies, not structured bindings: clang 14 cannot capture bindings in a lambda.
    const auto bounds = v6_bounds(prefix);
    return std::any_of(v6_.begin(), v6_.end(), [&bounds](const auto& r) {
      return r.first <= bounds.second && bounds.first <= r.second;
    });
  }
  const auto bounds = v4_bounds(prefix);
  return std::any_of(v4_.begin(), v4_.end(), [&bounds](const auto& r) {
    return r.first <= bounds.second && bounds.first <= r.second;
  });
}

namespace {

// Length of the prefix exactly covering [first, last], or -1.
int v4_prefix_len(std::uint32_t first, std::uint32_t last) {
  for (int len = 0; len <= 32; ++len) {
    const std::uint32_t span =
        len == 0 ? ~std::uint32_t{0} : ((std::uint32_t{1} << (32 - len)) - 1);
    if (len == 32) return first == last ? 32 : -1;
    if ((first & span) == 0 && (first | span) == last) return len;
  }
  return -1;
}

int v6_prefix_len(U128 first, U128 last) {
  for (int len = 0; len <= 128; ++len) {
    // The host bits of a /len: the block is a prefix only when `first` has none of them set.
    const auto span =
        v6_bounds(ip::Prefix{v6_address(U128{}), static_cast<std::uint8_t>(len)}).second;
    const bool aligned = (first.hi & span.hi) == 0 && (first.lo & span.lo) == 0;
    if (aligned && U128{first.hi | span.hi, first.lo | span.lo} == last) return len;
  }
  return -1;
}

}  // namespace

std::vector<std::string> AddrSet::to_strings() const {
  std::vector<std::string> out;
  for (const auto& [a, b] : v4_) {
    const int len = v4_prefix_len(a, b);
    if (len >= 0) {
      out.push_back(ip::to_string(ip::Prefix{v4_address(a), static_cast<std::uint8_t>(len)}));
    } else {
      out.push_back(ip::to_string(v4_address(a)) + "-" + ip::to_string(v4_address(b)));
    }
  }
  for (const auto& [a, b] : v6_) {
    const int len = v6_prefix_len(a, b);
    if (len >= 0) {
      out.push_back(ip::to_string(ip::Prefix{v6_address(a), static_cast<std::uint8_t>(len)}));
    } else {
      out.push_back(ip::to_string(v6_address(a)) + "-" + ip::to_string(v6_address(b)));
    }
  }
  return out;
}

AddrSet tailnet_ranges() {
  AddrSet s;
  s.add(*ip::parse_prefix("100.64.0.0/10"));
  AddrSet reserved;
  reserved.add(*ip::parse_prefix("100.115.92.0/23"));
  s.remove(reserved);
  s.add(*ip::parse_prefix("fd7a:115c:a1e0::/48"));
  return s;
}

void AddrSet::retain(const AddrSet& other) {
  AddrSet outside = *this;  // this - other
  outside.remove(other);
  remove(outside);
}

AddrSet all_addresses() {
  AddrSet s;
  s.add(*ip::parse_prefix("0.0.0.0/0"));
  s.add(*ip::parse_prefix("::/0"));
  return s;
}

AddrSet internet_ranges() {
  AddrSet s;
  s.add(*ip::parse_prefix("0.0.0.0/0"));
  AddrSet priv;
  for (const char* p :
       {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"}) {
    priv.add(*ip::parse_prefix(p));
  }
  s.remove(priv);
  s.add(*ip::parse_prefix("2000::/3"));
  return s;
}

}  // namespace postern::engine::detail
