#pragma once
// Browser-safety rules, as pure functions: which Host headers, Origins and Content-Types a request
// may carry.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::http::detail {

// The name part of a Host header value, as sent ("[::1]:8080" -> "::1", "Example.com:80" ->
// "Example.com"); nullopt when malformed.
[[nodiscard]] std::optional<std::string_view> host_name(std::string_view host_header);

class HostRule {
 public:
  explicit HostRule(const std::vector<std::string>& extra_names);
  [[nodiscard]] bool allows(std::string_view host_header) const;

 private:
  std::vector<std::string> extra_names_;  // --host names, compared case-insensitively
};

// Whether `origin` ("http://localhost:8080") names this server as reached through `host_header`.
[[nodiscard]] bool same_origin(std::string_view origin, std::string_view host_header, bool tls);
// Case-insensitive membership in the configured CORS origins.
[[nodiscard]] bool origin_listed(std::string_view origin, const std::vector<std::string>& origins);

// Whether the media type of `content_type` ("Application/JSON; charset=utf-8": the part before
// any `;`, trimmed) is one of `accepted`, case-insensitively.
[[nodiscard]] bool content_type_accepted(std::optional<std::string_view> content_type,
                                         const std::vector<std::string>& accepted);

}  // namespace postern::http::detail
