#pragma once
// The shared fixture of spec policy-language.md §10.1, built in code, plus one-line helpers to
// compile a policy against it and ask the engine (tests/engine/engine_*_test.cpp).

#include <memory>
#include <optional>
#include <string>

#include "postern/engine/policy_load.hpp"
#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"

namespace postern::test {

// Users alice (admin), bob, carol, dave (shared); devices D1-D5, S1, S2, R1, X1 of §10.1, with
// hostnames "D1".."D5", "S1", "S2", "R1", "X1". `now` is 2026-01-01T00:00:00Z; D5's
// custom:prodAccess expires in 2027.
engine::Inventory fixture_inventory();
inline constexpr std::int64_t kFixtureNow = 1767225600;  // 2026-01-01T00:00:00Z

// The §10.1 prelude with `extra` (example-specific keys, trailing comma allowed) inserted.
std::string prelude(const std::string& extra);

struct Compiled {
  engine::LoadedPolicy loaded;
  std::unique_ptr<engine::Engine> engine;
};

// Parse, lower, validate (must be error-free; REQUIREd) and compile against the fixture.
Compiled compile_fixture(const std::string& policy_text);
Compiled compile_with(const std::string& policy_text, const engine::Inventory& inventory);

// "D3" -> its IPv4 (or IPv6 when v6), "N1" -> 10.20.1.5, or a literal address.
grammar::ip::Address addr(const std::string& name, bool v6 = false);

// Ask the engine: `proto` is "tcp", "udp", "sctp", "icmp", "gre", "esp" or a number.
engine::Decision ask(const engine::Engine& engine, const std::string& src, const std::string& dst,
                     const std::string& proto, std::uint16_t port, bool v6 = false);
bool allows(const engine::Engine& engine, const std::string& src, const std::string& dst,
            const std::string& proto, std::uint16_t port, bool v6 = false);

}  // namespace postern::test
