// Fuzz target for the inventory loader (`--tailnet FILE`) and what runs on what it loads.
// Invariants: no crash or UB; a rejected document has located errors and no inventory (nothing
// half-loaded); an accepted one is JSON (nlohmann reads it: the On-Demand reader must not pass
// over text that is not, decisions H33), compiles with the sample policy, checks between its
// devices and every device's packet filter run, and the name index finds what find_devices finds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/engine/policy_load.hpp"
#include "postern/engine/query.hpp"

namespace {

using namespace postern;

void require(bool condition) {
  if (!condition) std::abort();
}

// samples/policy.hujson (POSTERN_FUZZ_POLICY, set by CMake), loaded once.
const engine::LoadedPolicy& sample_policy() {
  static const engine::LoadedPolicy policy = [] {
    std::ifstream in(POSTERN_FUZZ_POLICY, std::ios::binary);
    auto loaded = engine::load_policy(
        "policy.hujson",
        std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    require(loaded.ast.has_value() && loaded.error_count() == 0);
    return loaded;
  }();
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = engine::load_inventory(text);
  if (!loaded.inventory) {
    require(!loaded.errors.empty());
    for (const auto& e : loaded.errors) require(!e.message.empty());
    return 0;
  }
  require(loaded.errors.empty());
  require(!nlohmann::json::parse(text, nullptr, false).is_discarded());
  const auto& inventory = *loaded.inventory;
  const auto& policy = sample_policy();
  auto compiled =
      engine::Engine::compile(policy.file, *policy.ast, inventory, {.now = 1'800'000'000});
  require(compiled != nullptr);
  const auto snapshot = compiled->snapshot();
  const std::size_t limit = std::min<std::size_t>(inventory.devices.size(), 16);
  for (engine::DeviceIndex dst = 0; dst < limit; ++dst) {
    const auto& device = inventory.devices[dst];
    for (const auto* name : {&device.id, &device.node_id, &device.name, &device.hostname}) {
      const auto indexed = snapshot->names().find(*name);
      const auto scanned = engine::find_devices(inventory, *name);
      require(std::equal(indexed.begin(), indexed.end(), scanned.begin(), scanned.end()));
    }
    (void)snapshot->filter_for(dst);
    for (std::size_t src = 0; src < limit; ++src) {
      for (const auto& from : inventory.devices[src].addresses) {
        for (const auto& to : inventory.devices[dst].addresses) {
          engine::Request request;
          request.src = from;
          request.dst = to;
          request.port = 5432;
          (void)snapshot->check(request);
        }
      }
    }
  }
  return 0;
}
