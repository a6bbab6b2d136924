#include "request_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "postern/grammar/loopback.hpp"
#include "text.hpp"

namespace postern::http::detail {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<std::string_view> host_name(std::string_view host_header) {
  const auto host = trim(host_header);
  if (host.empty()) return std::nullopt;
  std::string_view name;
  std::string_view rest;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = host.substr(1, close - 1);
    rest = host.substr(close + 1);
  } else {
    const auto colon = host.find(':');
    name = host.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
  }
  if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) return std::nullopt;
  if (name.empty()) return std::nullopt;
  return name;
}

HostRule::HostRule(const std::vector<std::string>& extra_names) {
  for (const auto& name : extra_names) {
    if (const auto parsed = host_name(name)) extra_names_.emplace_back(*parsed);
  }
}

// Compared in place, without a lowered copy: every request's Host header is checked here. Host
// names are case-insensitive; grammar's loopback test takes `localhost` in lower case only.
bool HostRule::allows(std::string_view host_header) const {
  const auto name = host_name(host_header);
  if (!name) return false;
  if (ascii_iequals(*name, "localhost") || grammar::ip::is_loopback_host(*name)) return true;
  return std::any_of(extra_names_.begin(), extra_names_.end(),
                     [&](const std::string& extra) { return ascii_iequals(*name, extra); });
}

bool same_origin(std::string_view origin, std::string_view host_header, bool tls) {
  const std::string_view scheme = tls ? "https://" : "http://";
  const auto trimmed = trim(origin);
  if (trimmed.size() <= scheme.size() || !ascii_iequals(trimmed.substr(0, scheme.size()), scheme)) {
    return false;
  }
  return ascii_iequals(trimmed.substr(scheme.size()), trim(host_header));
}

bool origin_listed(std::string_view origin, const std::vector<std::string>& origins) {
  return std::any_of(origins.begin(), origins.end(), [&](const std::string& listed) {
    return ascii_iequals(trim(origin), listed);
  });
}

bool content_type_accepted(std::optional<std::string_view> content_type,
                           const std::vector<std::string>& accepted) {
  if (accepted.empty()) return true;
  if (!content_type) return false;
  // ascii_iequals compares without a lowered copy: this runs for every request with a body.
  const auto type = trim(content_type->substr(0, content_type->find(';')));
  return std::any_of(accepted.begin(), accepted.end(),
                     [&](const std::string& candidate) { return ascii_iequals(type, candidate); });
}

}  // namespace postern::http::detail
