// Fuzz target for parse_json_body, the reader of every JSON request body outside the one-pass
// check and write routes (the Tailscale API's, the console's, the admin routes'). It is held to
// nlohmann's own DOM parser, with duplicate keys and nesting found independently through
// nlohmann's parse callback: for two depth limits,
// - it accepts exactly the texts nlohmann accepts that have no duplicate key in any object and
//   nest no deeper than the limit, and then gives the same value;
// - a refusal says why in one line: printable ASCII, bounded in length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "postern/http/json_body.hpp"

namespace {

using nlohmann::json;

void require(bool condition) {
  if (!condition) std::abort();
}

struct Reference {
  bool valid = false;
  bool duplicate = false;
  std::size_t depth = 0;  // deepest array or object, 1 for the outermost
  json value;
};

Reference reference(std::string_view text) {
  Reference out;
  // nlohmann ends its input at a NUL byte; JSON allows none anywhere.
  if (text.find('\0') != std::string_view::npos || !json::accept(text)) return out;
  out.valid = true;
  std::vector<std::set<std::string>> keys;  // one set per open object
  const json::parser_callback_t watch = [&](int depth, json::parse_event_t event, json& parsed) {
    using Event = json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      out.depth = std::max(out.depth, static_cast<std::size_t>(depth) + 1);
    }
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end) keys.pop_back();
    if (event == Event::key && !keys.back().insert(parsed.get<std::string>()).second) {
      out.duplicate = true;
    }
    return true;
  };
  out.value = json::parse(text, watch);
  return out;
}

void explained(const postern::http::JsonBody& body) {
  require(!body.error.empty() && body.error.size() < 400);
  for (const char c : body.error) require(c >= 0x20 && c < 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto expected = reference(text);
  for (const std::size_t limit : {std::size_t{3}, std::size_t{512}}) {
    const auto body = postern::http::parse_json_body(text, limit);
    const bool accept = expected.valid && !expected.duplicate && expected.depth <= limit;
    require(body.ok() == accept);
    if (accept) {
      require(*body.value == expected.value);
    } else {
      explained(body);
    }
  }
  return 0;
}
