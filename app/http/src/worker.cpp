#include "worker.hpp"

#include <algorithm>
#include <cassert>

namespace postern::http::detail {

Worker::Worker(std::chrono::milliseconds sweep_interval) : sweep_interval_(sweep_interval) {}

bool Worker::on_own_thread() const {
  // Before start and after join (the io_context destroying what it still holds) no thread runs
  // the list, so any thread may. The id is the thread's own record, not `thread_`, which the
  // starting thread is still assigning when the new one first runs (ThreadSanitizer).
  const auto owner = owner_.load(std::memory_order_acquire);
  return owner == std::thread::id{} || std::this_thread::get_id() == owner;
}

void Worker::add(HasDeadline* connection) {
  assert(on_own_thread());
  connection->worker_ = this;
  connection->slot_ = entries_.size();
  entries_.push_back(Entry{connection, SteadyClock::time_point::max()});
}

void Worker::remove(HasDeadline* connection) {
  assert(on_own_thread());  // a connection released on another thread would race the sweep
  const auto slot = connection->slot_;
  if (connection->worker_ != this || slot >= entries_.size() ||
      entries_[slot].connection != connection) {
    return;
  }
  entries_[slot] = entries_.back();
  entries_[slot].connection->slot_ = slot;
  entries_.pop_back();
  connection->worker_ = nullptr;
}

void Worker::start() {
  schedule_sweep();
  thread_ = std::thread([this] {
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
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
  owner_.store(std::thread::id{}, std::memory_order_release);
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
  for (auto& entry : entries_) {
    if (entry.deadline <= now) {
      entry.deadline = SteadyClock::time_point::max();
      expired_.push_back(entry.connection);
    }
  }
  for (auto* connection : expired_) connection->on_deadline();
}

std::chrono::milliseconds sweep_interval_for(
    std::initializer_list<std::chrono::milliseconds> timeouts) {
  const auto shortest = std::min(timeouts);
  return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
}

}  // namespace postern::http::detail
