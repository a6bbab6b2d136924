#include "worker.hpp"

#include <algorithm>

namespace postern::http::detail {

Worker::Worker(std::chrono::milliseconds sweep_interval) : sweep_interval_(sweep_interval) {}

void Worker::add(HasDeadline* connection) {
  connection->slot_ = connections_.size();
  connections_.push_back(connection);
}

void Worker::remove(HasDeadline* connection) {
  const auto slot = connection->slot_;
  if (slot >= connections_.size() || connections_[slot] != connection) return;
  connections_[slot] = connections_.back();
  connections_[slot]->slot_ = slot;
  connections_.pop_back();
}

void Worker::start() {
  schedule_sweep();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (...) {
        // Handlers catch what they can; anything else must not end the thread.
      }
    }
  });
}

void Worker::stop() { io_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::schedule_sweep() {
  sweep_timer_.expires_after(sweep_interval_);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sweep();
    schedule_sweep();
  });
}

void Worker::sweep() {
  const auto now = SteadyClock::now();
  // Collected first: a connection's on_deadline may remove it (or others) from the list.
  expired_.clear();
  for (auto* connection : connections_) {
    if (connection->deadline <= now) expired_.push_back(connection);
  }
  for (auto* connection : expired_) {
    connection->deadline = SteadyClock::time_point::max();
    connection->on_deadline();
  }
}

std::chrono::milliseconds sweep_interval_for(
    std::initializer_list<std::chrono::milliseconds> timeouts) {
  const auto shortest = std::min(timeouts);
  return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
}

}  // namespace postern::http::detail
