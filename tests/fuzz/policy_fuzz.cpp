// Fuzz target for the whole policy pipeline as `postern validate` and `postern check` run it:
// engine::load_policy (HuJSON → policy lowering → validation) → (when valid) compile against a
// fixed tailnet, the policy's own tests with and without that tailnet, checks between every pair of
// devices and every device's packet filter. Invariants: no crash or UB; every diagnostic lies
// inside the text and renders; a policy that validates always compiles.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/engine/policy_load.hpp"

namespace {

using namespace postern;

void require(bool condition) {
  if (!condition) std::abort();
}

// The decision corpus's tailnet (POSTERN_FUZZ_TAILNET, set by CMake): users, tags, subnet and exit
// routes, a shared-in device and posture attributes, so compiled rules have something to match.
const engine::Inventory& fixture_inventory() {
  static const engine::Inventory inventory = [] {
    std::ifstream in(POSTERN_FUZZ_TAILNET, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto loaded = engine::load_inventory(text);
    require(loaded.inventory.has_value());
    return std::move(*loaded.inventory);
  }();
  return inventory;
}

void require_located(const grammar::SourceFile& file,
                     const std::vector<grammar::Diagnostic>& diags) {
  for (const auto& d : diags) {
    require(d.span.begin <= d.span.end && d.span.end <= file.text().size());
    require(!d.message.empty());
    (void)grammar::render(file, d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& inventory = fixture_inventory();
  const auto loaded =
      engine::load_policy("fuzz.hujson", std::string(reinterpret_cast<const char*>(data), size),
                          engine::validate_context(inventory));
  const auto& file = loaded.file;
  require_located(file, loaded.diags);
  if (!loaded.ok()) return 0;
  const auto& ast = *loaded.ast;

  constexpr std::int64_t kNow = 1'800'000'000;
  auto compiled = engine::Engine::compile(file, ast, inventory, {.now = kNow});
  require(compiled != nullptr);
  const auto tests_alone = engine::run_policy_tests(file, ast, nullptr, {.now = kNow});
  require_located(file, tests_alone.diagnostics);
  const auto tests_here = engine::run_policy_tests(file, ast, &inventory, {.now = kNow});
  require_located(file, tests_here.diagnostics);

  const auto snapshot = compiled->snapshot();
  for (engine::DeviceIndex dst = 0; dst < inventory.devices.size(); ++dst) {
    (void)snapshot->filter_for(dst);
    for (const auto& src : inventory.devices) {
      if (src.addresses.empty() || inventory.devices[dst].addresses.empty()) continue;
      engine::Request request;
      request.src = src.addresses.front();
      request.dst = inventory.devices[dst].addresses.front();
      request.port = 443;
      const auto decision = snapshot->check(request);
      (void)decision;
    }
  }
  return 0;
}
