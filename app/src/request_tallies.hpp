#pragma once
// Request counts and latencies for the metrics, kept per server thread. prometheus-cpp's counters
// and histograms are shared by every thread that answers the same route: each request then
// compare-and-swaps cache lines the other threads also write (5% of a check's CPU at two
// threads). Here each thread counts into memory only it writes, and a scrape adds what every
// thread counted since the previous scrape to prometheus-cpp's series.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Histogram;
}  // namespace prometheus

namespace postern::server {

class RequestTallies {
 public:
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* latency;  // with the `bounds` given below
  };
  // Finds or creates the series of one method, route and status (called once per thread and
  // series; must be thread-safe, as prometheus-cpp's Family::Add is).
  using SeriesFor =
      std::function<Series(std::string_view method, std::string_view route, int status)>;

  RequestTallies(std::vector<double> bounds, SeriesFor series_for);
  ~RequestTallies();
  RequestTallies(const RequestTallies&) = delete;
  RequestTallies& operator=(const RequestTallies&) = delete;

  // One answered request, counted by the calling thread. `method` must be one of a bounded set
  // (it is part of a key kept for the server's lifetime).
  void count(std::string_view method, std::string_view route, int status,
             std::chrono::microseconds duration);
  // Adds every thread's counts since the last flush to the series (any thread; before a scrape).
  void flush();

 private:
  struct Tally;
  struct ThreadTallies;
  ThreadTallies& mine();
  Tally& tally(ThreadTallies& thread, std::string_view method, std::string_view route, int status);
  void flush(Tally& tally) const;

  const std::uint64_t serial_;  // tells a thread's cached pointer from an earlier instance's
  const std::vector<double> bounds_;
  const SeriesFor series_for_;
  std::mutex threads_mutex_;  // also serialises flush(), which holds it throughout
  std::vector<std::unique_ptr<ThreadTallies>> threads_;
};

}  // namespace postern::server
