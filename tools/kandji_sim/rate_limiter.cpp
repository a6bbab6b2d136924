#include "rate_limiter.hpp"

namespace postern::kandji_sim {

RateState RateLimiter::count(Clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto this_second = duration_cast<seconds>(now.time_since_epoch()).count();
  if (this_second != second_) {
    second_ = this_second;
    used_second_ = 0;
  }
  if (!hour_start_ || now - *hour_start_ >= std::chrono::hours(1)) {
    hour_start_ = now;
    used_hour_ = 0;
  }
  ++used_second_;
  ++used_hour_;

  RateState s;
  s.remaining_second = used_second_ >= limits_.per_second ? 0 : limits_.per_second - used_second_;
  s.remaining_hour = used_hour_ >= limits_.per_hour ? 0 : limits_.per_hour - used_hour_;
  s.reset_seconds = 1;
  const bool over_second = used_second_ > limits_.per_second;
  const bool over_hour = used_hour_ > limits_.per_hour;
  s.exceeded = limits_.enforce && (over_second || over_hour);
  if (over_hour) {
    const auto left = std::chrono::hours(1) - (now - *hour_start_);
    s.retry_after = static_cast<std::uint64_t>(duration_cast<seconds>(left).count()) + 1;
  }
  return s;
}

void RateLimiter::reset() {
  second_ = -1;
  used_second_ = 0;
  hour_start_.reset();
  used_hour_ = 0;
}

}  // namespace postern::kandji_sim
