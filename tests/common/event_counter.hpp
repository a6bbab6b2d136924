#pragma once
// Counts events raised on other threads (sync reports, fetches) and lets a test wait for a count
// with a generous bound instead of sleeping or spinning.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace postern::test {

class EventCounter {
 public:
  void bump() {
    std::lock_guard lock(mu_);
    ++count_;
    changed_.notify_all();
  }
  [[nodiscard]] int count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  // True once at least `n` events happened; false when `bound` passed first.
  bool wait_for(int n, std::chrono::milliseconds bound = std::chrono::seconds(60)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, bound, [&] { return count_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  int count_ = 0;
};

}  // namespace postern::test
