#pragma once
// The one loopback rule for host names from the command line or a URL (`--listen`, the Kandji
// API URL, the simulator's admin API): pure, no name resolution.

#include <string_view>

namespace postern::grammar::ip {

// True for a literal loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), bracketed or not,
// and for exactly `localhost`. Anything else, `127.evil.com` and `localhost.` included, is not.
bool is_loopback_host(std::string_view host);

}  // namespace postern::grammar::ip
