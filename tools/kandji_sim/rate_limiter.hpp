#pragma once
// Kandji's gateway limits (spec §1.6): a 50 requests/second window and 10,000 requests/hour per
// tenant, advertised on every response. Counting is real; refusing with 429 only happens when
// enforcement is on, so long benchmarks are not cut off by default. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>

namespace postern::kandji_sim {

struct RateLimits {
  std::uint64_t per_second = 50;
  std::uint64_t per_hour = 10000;
  bool enforce = false;
};

struct RateState {
  std::uint64_t remaining_second = 0;
  std::uint64_t remaining_hour = 0;
  std::uint64_t reset_seconds = 1;  // seconds until the per-second window resets
  bool exceeded = false;            // this request went over a limit
  std::uint64_t retry_after = 1;    // seconds until the exceeded window resets
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimits limits) : limits_(limits) {}

  RateState count(Clock::time_point now);
  void reset();
  [[nodiscard]] const RateLimits& limits() const { return limits_; }

 private:
  RateLimits limits_;
  std::int64_t second_ = -1;
  std::uint64_t used_second_ = 0;
  std::optional<Clock::time_point> hour_start_;
  std::uint64_t used_hour_ = 0;
};

}  // namespace postern::kandji_sim
