#include "request_tallies.hpp"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>

namespace postern::server {
namespace {

using Count = std::atomic<std::uint64_t>;

// Only the owning thread writes a tally, so a plain load and store count without a locked
// instruction.
void bump(Count& count, std::uint64_t by, std::memory_order order = std::memory_order_relaxed) {
  count.store(count.load(std::memory_order_relaxed) + by, order);
}

std::atomic<std::uint64_t> next_serial{1};

}  // namespace

struct RequestTallies::Tally {
  Tally(Series s, std::size_t buckets) : series(s), counts(buckets), flushed(buckets, 0) {}

  Series series;
  Count requests{0};
  Count microseconds{0};      // the sum of the latencies
  std::vector<Count> counts;  // per bucket, not cumulative: bounds.size() + 1 (the last: +Inf)
  // What flush() has already added to the series (flush() only, under threads_mutex_).
  std::uint64_t flushed_requests = 0;
  std::uint64_t flushed_microseconds = 0;
  std::vector<std::uint64_t> flushed;
};

struct RequestTallies::ThreadTallies {
  // Held by the owner while it inserts and by flush() while it reads; the owner's lookups need no
  // lock, as nobody else inserts.
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<Tally>> by_key;
  std::string key;  // the owner's scratch key
};

RequestTallies::RequestTallies(std::vector<double> bounds, SeriesFor series_for)
    : serial_(next_serial.fetch_add(1)),
      bounds_(std::move(bounds)),
      series_for_(std::move(series_for)) {}

RequestTallies::~RequestTallies() = default;

void RequestTallies::count(std::string_view method, std::string_view route, int status,
                           std::chrono::microseconds duration) {
  auto& counted = tally(mine(), method, route, status);
  const double seconds = std::chrono::duration<double>(duration).count();
  // prometheus-cpp's rule: the first bucket whose bound is at least the value.
  const auto bucket = static_cast<std::size_t>(
      std::find_if(bounds_.begin(), bounds_.end(), [&](double bound) { return bound >= seconds; }) -
      bounds_.begin());
  bump(counted.counts[bucket], 1);
  bump(counted.microseconds,
       static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count())));
  // Last, released: a flush that reads this count also sees those requests' bucket and sum.
  bump(counted.requests, 1, std::memory_order_release);
}

RequestTallies::ThreadTallies& RequestTallies::mine() {
  // Per instance (a serial is never reused, so an entry of a destroyed instance is never found).
  thread_local std::vector<std::pair<std::uint64_t, ThreadTallies*>> known;
  for (const auto& [serial, tallies] : known) {
    if (serial == serial_) return *tallies;
  }
  auto fresh = std::make_unique<ThreadTallies>();
  auto& tallies = *fresh;
  {
    const std::lock_guard lock(threads_mutex_);
    threads_.push_back(std::move(fresh));
  }
  known.emplace_back(serial_, &tallies);
  return tallies;
}

RequestTallies::Tally& RequestTallies::tally(ThreadTallies& thread, std::string_view method,
                                             std::string_view route, int status) {
  // Appended, not formatted: this runs once per request.
  const fmt::format_int status_text(status);
  auto& key = thread.key;
  key.assign(method);
  key += ' ';
  key += route;
  key += ' ';
  key.append(status_text.data(), status_text.size());
  if (const auto found = thread.by_key.find(key); found != thread.by_key.end()) {
    return *found->second;
  }
  auto made = std::make_unique<Tally>(series_for_(method, route, status), bounds_.size() + 1);
  const std::lock_guard lock(thread.mutex);
  return *thread.by_key.emplace(key, std::move(made)).first->second;
}

void RequestTallies::flush() {
  const std::lock_guard listing(threads_mutex_);
  for (const auto& thread : threads_) {
    const std::lock_guard reading(thread->mutex);
    for (const auto& [key, counted] : thread->by_key) flush(*counted);
  }
}

void RequestTallies::flush(Tally& tally) const {
  // Acquired first (see count()), so every request it counts is in the buckets read below; a
  // request being counted meanwhile may show in a bucket one scrape before it shows here.
  const auto requests = tally.requests.load(std::memory_order_acquire);
  if (requests == tally.flushed_requests) return;
  std::vector<double> added(tally.counts.size());
  for (std::size_t i = 0; i < added.size(); ++i) {
    const auto now = tally.counts[i].load(std::memory_order_relaxed);
    added[i] = static_cast<double>(now - tally.flushed[i]);
    tally.flushed[i] = now;
  }
  const auto microseconds = tally.microseconds.load(std::memory_order_relaxed);
  tally.series.requests->Increment(static_cast<double>(requests - tally.flushed_requests));
  tally.series.latency->ObserveMultiple(
      added, static_cast<double>(microseconds - tally.flushed_microseconds) / 1e6);
  tally.flushed_requests = requests;
  tally.flushed_microseconds = microseconds;
}

}  // namespace postern::server
