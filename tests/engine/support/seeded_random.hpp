#pragma once
// A seeded random source for the engine's randomized tests: the same seed gives the same
// policies, inventories and queries on every machine, so a failure is reproducible from the
// seed its message prints.

#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "env_number.hpp"

namespace postern::test {

class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, n); n > 0.
  std::size_t below(std::size_t n) {
    return static_cast<std::size_t>(
        std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_));
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(engine_); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace postern::test
