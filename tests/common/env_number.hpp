#pragma once
// Test sizes and seeds a run may override from the environment (e.g. the ASan preset's shorter
// soak and smaller loopback sync, docs/decisions.md D8).

#include <cstdint>
#include <cstdlib>

namespace postern::test {

// The number in environment variable `name`, else `fallback`.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 10);
}

}  // namespace postern::test
