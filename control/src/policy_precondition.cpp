// Policy ETags and If-Match preconditions.
#include "postern/control/policy_precondition.hpp"

#include <fmt/format.h>

#include "postern/grammar/hujson_format.hpp"

namespace postern::control {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

// One entity tag without `W/` and without its quotes (clients differ on quoting).
std::string_view bare_tag(std::string_view tag) {
  tag = trim(tag);
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') {
    tag = tag.substr(1, tag.size() - 2);
  }
  return tag;
}

Error precondition_failed() {
  return Error{
      ErrorKind::Precondition, grammar::DiagCode::K812, std::string(kPreconditionFailed), {}};
}

}  // namespace

std::string policy_etag(const PolicyState& policy) {
  return fmt::format("\"{}\"", grammar::hujson::policy_etag(policy.text));
}

bool is_untouched_default(const PolicyState& policy) {
  return policy.is_default || policy.text == kDefaultPolicy;
}

Outcome<std::optional<std::int64_t>> expected_version(const PolicyState& current,
                                                      std::optional<std::string_view> if_match) {
  if (!if_match) return std::optional<std::int64_t>{};
  const std::string etag = policy_etag(current);
  const std::string_view current_tag = bare_tag(etag);
  std::string_view rest = *if_match;
  bool any_tag = false;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view tag = bare_tag(rest.substr(0, comma));
    if (!tag.empty()) {
      any_tag = true;
      const bool matches = tag == "*" || tag == current_tag ||
                           (tag == kDefaultEtag && is_untouched_default(current));
      if (matches) return std::optional<std::int64_t>{current.version};
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any_tag) return std::optional<std::int64_t>{};  // an empty header asks for nothing
  return precondition_failed();
}

}  // namespace postern::control
