#pragma once
// Time is injected: the scheduler, retries and deadlines read a Clock, so tests run a day of
// schedule in milliseconds with FakeClock.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "postern/grammar/time.hpp"

namespace postern::sync {

using SysClock = std::chrono::system_clock;
using TimePoint = SysClock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  // Block the calling thread for `d` (FakeClock: advance time instead).
  virtual void sleep_for(Millis d) = 0;
  // Wait on `cv` (whose mutex `lock` holds) until `deadline` or a notification. Returns after a
  // spurious wake-up too; callers re-check their state.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() override;
  void sleep_for(Millis d) override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) override;
};

// Manually driven time. sleep_for advances the clock (so retries and backoff cost nothing);
// wait_until waits a real millisecond at most, so a polling loop notices advance() quickly.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{std::chrono::seconds{1'750'000'000}});
  TimePoint now() override;
  void sleep_for(Millis d) override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) override;
  void advance(Millis d);
  void set(TimePoint t);
  // Total time passed in sleep_for (to assert backoff and Retry-After waits).
  Millis slept();

 private:
  std::mutex mu_;
  TimePoint now_;
  Millis slept_{0};
};

// Unix seconds of a time point, and back.
std::int64_t to_unix(TimePoint t);
TimePoint from_unix(std::int64_t seconds);
// RFC 3339 UTC ("2025-06-10T08:14:09Z"): the grammar layer's printer, under the name app/ and the
// server test call.
using timefmt::format_rfc3339;

}  // namespace postern::sync
