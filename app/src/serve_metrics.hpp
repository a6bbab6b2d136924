#pragma once
// GET /metrics of `postern serve` in Prometheus text format (prometheus-cpp): requests and their
// latency per route (fed by the server's access-log hook), checks answered, sync runs, their
// durations and failures per integration, attribute changes and the policy version. Served behind
// the API credentials on the main listener, or without them on a loopback --metrics-listen.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "postern/control/tailnet.hpp"
#include "postern/http/router.hpp"
#include "postern/http/server.hpp"
#include "request_tallies.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
class Histogram;
}  // namespace prometheus

namespace postern::server {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class Metrics {
 public:
  // `checks_answered` is the routes' running count (ApiContext::checks_answered).
  Metrics(const control::Tailnet& tailnet, const std::atomic<std::uint64_t>& checks_answered);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished exchange (called on connection threads).
  void record_request(const http::AccessRecord& record);
  // One finished sync run.
  void record_sync(const control::SyncRun& run);
  // The text exposition, with the values read at scrape time brought up to date.
  std::string exposition();

 private:
  struct Families;
  // One integration's sync series, made (at 0) when first asked for.
  struct SyncSeries {
    prometheus::Counter& runs;
    prometheus::Counter& failures;
    prometheus::Counter& changed;
    prometheus::Histogram& duration;
  };
  SyncSeries sync_series(const std::string& provider);
  const control::Tailnet& tailnet_;
  const std::atomic<std::uint64_t>& checks_answered_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  RequestTallies tallies_;  // requests per method, route and status; latencies per route
  std::mutex scrape_mu_;    // exposition() brings the scrape-time counters up by their deltas
  std::uint64_t checks_seen_ = 0;
  std::uint64_t attribute_changes_seen_ = 0;
};

// GET /metrics answering metrics.exposition(); `requires_auth` false only on a loopback
// --metrics-listen server.
void install_metrics_route(http::Router& router, Metrics& metrics, bool requires_auth);

// `--metrics-listen HOST:PORT`: a server with only GET /metrics and no credentials, so it must be
// a loopback address. An error message (server unset) when it cannot start.
http::StartResult start_metrics_listener(const std::string& listen, Metrics& metrics);

}  // namespace postern::server
