// Fuzz target for what the Kandji client reads from the network: a response page
// (kandji_mapper::map_page) and, from the same bytes, an API URL (normalise_kandji_url).
// Invariants: no crash or UB; a failure carries a message; a parsed page is self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/sync/kandji.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto page = postern::sync::kandji_mapper::map_page(text);
  if (page.ok()) {
    const auto& p = page.value();
    require(p.rows_without_serial <= p.rows);
    require(p.devices.size() <= p.rows);
    require(!p.cursor || !p.cursor->empty());
  } else {
    require(!page.error().message.empty());
  }
  auto url = postern::sync::normalise_kandji_url(text);
  if (url.ok()) {
    const auto& u = url.value();
    require(u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0);
  } else {
    require(!url.error().message.empty());
  }
  return 0;
}
