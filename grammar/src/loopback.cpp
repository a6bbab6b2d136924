#include "postern/grammar/loopback.hpp"

#include <algorithm>

#include "postern/grammar/ip.hpp"

namespace postern::grammar::ip {

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return false;  // `[127.0.0.1]` is no IPv6
  }
  const auto address = parse_address(host);
  if (!address) return false;
  if (!address->v6) return address->bytes[0] == 127;
  const auto& b = address->bytes;
  const bool zero_prefix = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; });
  const bool v4_mapped = zero_prefix && b[10] == 0xff && b[11] == 0xff;
  if (v4_mapped) return b[12] == 127;
  return zero_prefix && std::all_of(b.begin() + 10, b.end() - 1, [](auto x) { return x == 0; }) &&
         b[15] == 1;
}

}  // namespace postern::grammar::ip
