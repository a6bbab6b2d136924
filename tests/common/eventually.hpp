#pragma once
// Waits for an outcome another process or thread produces and cannot announce to the test (a
// sync, a file reload, a replica's notification, a connection closing): the condition is polled
// until it holds, within a generous bound. Never a wait for time itself to pass; a slow machine
// makes such a test slower, not flaky.

#include <chrono>
#include <thread>

namespace postern::test {

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds bound = std::chrono::seconds(20),
                std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(interval);
  }
  return condition();
}

}  // namespace postern::test
