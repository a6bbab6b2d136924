#pragma once
// One server thread: its own io_context (run by that thread alone, so a connection's handlers
// never hop between threads and need no strand) and the deadlines of the connections it runs.
// Deadlines are checked by one periodic sweep instead of a timer per connection and phase: arming
// an Asio timer costs a timerfd_settime system call whenever it becomes the earliest, which was
// several calls per request.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "postern/http/message.hpp"

namespace postern::http::detail {

using SteadyClock = std::chrono::steady_clock;

class Worker;

// What a connection does when its deadline passes (on its worker's thread). The deadline itself
// is kept in the worker's list, beside the pointer: a sweep over 10,000 idle connections reads
// one contiguous array instead of 10,000 objects.
class HasDeadline {
 public:
  HasDeadline() = default;
  HasDeadline(const HasDeadline&) = delete;
  HasDeadline& operator=(const HasDeadline&) = delete;
  HasDeadline(HasDeadline&&) = delete;
  HasDeadline& operator=(HasDeadline&&) = delete;
  virtual ~HasDeadline() = default;

  // on_deadline is called once `at` has passed (until the deadline is set again or cleared).
  void set_deadline(SteadyClock::time_point at);
  void clear_deadline() { set_deadline(SteadyClock::time_point::max()); }
  virtual void on_deadline() = 0;

 private:
  friend class Worker;
  Worker* worker_ = nullptr;
  std::size_t slot_ = 0;  // place in the worker's list, for removal in O(1)
};

class Worker {
 public:
  // `sweep_interval`: how often deadlines are checked (the granularity of every timeout).
  explicit Worker(std::chrono::milliseconds sweep_interval);

  boost::asio::io_context& io() { return io_; }
  // The other workers, for requests that split their work (Request::helpers); null when none.
  [[nodiscard]] Helpers* helpers() const { return helpers_.get(); }
  void set_helpers(std::unique_ptr<Helpers> helpers) { helpers_ = std::move(helpers); }

  // Connections register for their lifetime; only from this worker's thread.
  void add(HasDeadline* connection);
  void remove(HasDeadline* connection);
  void set_deadline(const HasDeadline& connection, SteadyClock::time_point at) {
    entries_[connection.slot_].deadline = at;
  }

  // Whether the caller may touch the deadline list: checked by add and remove in debug builds.
  [[nodiscard]] bool on_own_thread() const;

  void start();  // starts the thread (and the sweep)
  void stop();   // stops the io_context; pending handlers are abandoned
  void join();

 private:
  void schedule_sweep();
  void sweep();

  // Declared before io_: destroying io_ destroys the connections its pending handlers hold, and
  // they remove themselves from this list.
  struct Entry {
    HasDeadline* connection;
    SteadyClock::time_point deadline;
  };
  std::vector<Entry> entries_;
  std::vector<HasDeadline*> expired_;
  std::chrono::milliseconds sweep_interval_;
  std::unique_ptr<Helpers> helpers_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer sweep_timer_{io_};
  std::thread thread_;
  std::atomic<std::thread::id> owner_{};  // set by the thread itself as it starts
};

// The sweep interval for a set of timeouts: an eighth of the shortest, between 5 and 250 ms.
inline void HasDeadline::set_deadline(SteadyClock::time_point at) {
  if (worker_ != nullptr) worker_->set_deadline(*this, at);
}

[[nodiscard]] std::chrono::milliseconds sweep_interval_for(
    std::initializer_list<std::chrono::milliseconds> timeouts);

}  // namespace postern::http::detail
