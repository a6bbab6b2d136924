#include "postern/sync/clock.hpp"

#include <thread>

namespace postern::sync {

TimePoint SystemClock::now() { return SysClock::now(); }

void SystemClock::sleep_for(Millis d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

void SystemClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             TimePoint deadline) {
  cv.wait_until(lock, deadline);
}

FakeClock::FakeClock(TimePoint start) : now_(start) {}

TimePoint FakeClock::now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::sleep_for(Millis d) {
  if (d.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
  slept_ += d;
}

void FakeClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           TimePoint deadline) {
  if (now() >= deadline) return;
  // Real time barely moves; the loop re-checks fake time, which tests move with advance().
  cv.wait_for(lock, Millis{1});
}

void FakeClock::advance(Millis d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

void FakeClock::set(TimePoint t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

Millis FakeClock::slept() {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

std::int64_t to_unix(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_unix(std::int64_t seconds) { return TimePoint{std::chrono::seconds{seconds}}; }

}  // namespace postern::sync
