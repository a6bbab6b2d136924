// The engine's name for the one RFC 3339 parser (postern/grammar/time.hpp), kept for its callers.
#include "postern/engine/inventory.hpp"
#include "postern/grammar/time.hpp"

namespace postern::engine {

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  return timefmt::parse_rfc3339(text);
}

}  // namespace postern::engine
