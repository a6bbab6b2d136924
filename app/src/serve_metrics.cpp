// Prometheus metrics on prometheus-cpp's registry and text serializer.
#include "serve_metrics.hpp"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <string_view>

#include "listen_address.hpp"
#include "postern/grammar/loopback.hpp"

namespace postern::server {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// Labels come from a bounded set only: the method as sent is attacker text.
std::string_view method_label(std::string_view method) {
  constexpr std::array<std::string_view, 7> kKnown{"GET",   "HEAD",   "POST",   "PUT",
                                                   "PATCH", "DELETE", "OPTIONS"};
  for (const auto known : kKnown) {
    if (method == known) return known;
  }
  return "OTHER";
}

std::string route_label(std::string_view route) {
  return route.empty() ? std::string("(unmatched)") : std::string(route);
}

const Histogram::BucketBoundaries& request_buckets() {
  static const Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  return buckets;
}

const Histogram::BucketBoundaries& sync_buckets() {
  static const Histogram::BucketBoundaries buckets{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return buckets;
}

}  // namespace

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("postern_http_requests_total")
                     .Help("HTTP requests answered, by method, route pattern and status")
                     .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("postern_http_request_duration_seconds")
                    .Help("Time from the first header byte to the last response byte")
                    .Register(r)),
        checks(prometheus::BuildCounter()
                   .Name("postern_checks_total")
                   .Help("Access checks answered (one per /v1/check, one per batch query)")
                   .Register(r)
                   .Add({})),
        sync_runs(prometheus::BuildCounter()
                      .Name("postern_sync_runs_total")
                      .Help("Posture-integration sync runs finished, by integration")
                      .Register(r)),
        sync_failures(prometheus::BuildCounter()
                          .Name("postern_sync_failures_total")
                          .Help("Sync runs that failed, by integration")
                          .Register(r)),
        sync_changed(prometheus::BuildCounter()
                         .Name("postern_sync_changed_nodes_total")
                         .Help("Nodes whose attributes a sync changed, by integration")
                         .Register(r)),
        sync_duration(prometheus::BuildHistogram()
                          .Name("postern_sync_duration_seconds")
                          .Help("Duration of sync runs, by integration")
                          .Register(r)),
        attribute_changes(prometheus::BuildCounter()
                              .Name("postern_attribute_changes_total")
                              .Help("Attribute writes applied to the live evaluator (API, sync, "
                                    "integration removal)")
                              .Register(r)
                              .Add({})),
        policy_version(prometheus::BuildGauge()
                           .Name("postern_policy_version")
                           .Help("Stored version id of the policy being served (0: not stored)")
                           .Register(r)
                           .Add({})) {}

  Family<Counter>& requests;
  Family<Histogram>& latency;
  Counter& checks;
  Family<Counter>& sync_runs;
  Family<Counter>& sync_failures;
  Family<Counter>& sync_changed;
  Family<Histogram>& sync_duration;
  Counter& attribute_changes;
  Gauge& policy_version;
};

Metrics::Metrics(const control::Tailnet& tailnet, const std::atomic<std::uint64_t>& checks_answered)
    : tailnet_(tailnet),
      checks_answered_(checks_answered),
      registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)),
      tallies_(request_buckets(), [families = families_.get()](std::string_view method,
                                                               std::string_view route, int status) {
        const auto route_text = route_label(route);
        return RequestTallies::Series{
            &families->requests.Add({{"method", std::string(method)},
                                     {"route", route_text},
                                     {"status", std::to_string(status)}}),
            &families->latency.Add({{"method", std::string(method)}, {"route", route_text}},
                                   request_buckets())};
      }) {
  // The configured integrations' sync series read 0 from start, not "no data" until their first
  // run after a restart (alerts on them hold); one created later syncs, and so appears, at once.
  if (const auto integrations = tailnet_.integrations()) {
    for (const auto& view : integrations.value()) (void)sync_series(view.integration.provider);
  }
}

Metrics::~Metrics() = default;

void Metrics::record_request(const http::AccessRecord& record) {
  tallies_.count(method_label(record.method), record.route, record.status, record.duration);
}

void Metrics::record_sync(const control::SyncRun& run) {
  const auto series = sync_series(run.integration.provider);
  series.runs.Increment();
  if (!run.report.ok) series.failures.Increment();
  series.changed.Increment(static_cast<double>(run.report.changed_nodes));
  series.duration.Observe(std::chrono::duration<double>(run.report.duration).count());
}

Metrics::SyncSeries Metrics::sync_series(const std::string& provider) {
  const prometheus::Labels labels{{"integration", provider}};
  return {families_->sync_runs.Add(labels), families_->sync_failures.Add(labels),
          families_->sync_changed.Add(labels),
          families_->sync_duration.Add(labels, sync_buckets())};
}

std::string Metrics::exposition() {
  tallies_.flush();
  {
    std::lock_guard lock(scrape_mu_);
    const auto checks = checks_answered_.load();
    families_->checks.Increment(static_cast<double>(checks - checks_seen_));
    checks_seen_ = checks;
    const auto changes = tailnet_.attribute_changes();
    families_->attribute_changes.Increment(static_cast<double>(changes - attribute_changes_seen_));
    attribute_changes_seen_ = changes;
    families_->policy_version.Set(static_cast<double>(tailnet_.policy().version));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void install_metrics_route(http::Router& router, Metrics& metrics, bool requires_auth) {
  http::RouteOptions options;
  options.requires_auth = requires_auth;
  router.get(
      "/metrics",
      [&metrics](const http::Request&) {
        http::Response response;
        response.content_type = std::string(kMetricsContentType);
        response.body = metrics.exposition();
        return response;
      },
      options);
}

http::StartResult start_metrics_listener(const std::string& listen, Metrics& metrics) {
  const auto address = app::parse_listen(listen);
  if (!address) {
    return {nullptr, fmt::format("`--metrics-listen` must be HOST:PORT (e.g. 127.0.0.1:9464), got "
                                 "`{}`",
                                 listen)};
  }
  if (!grammar::ip::is_loopback_host(address->host)) {
    return {nullptr, fmt::format("`--metrics-listen` serves without credentials, so it must be a "
                                 "loopback address, got `{}`; scrape the main listener's /metrics "
                                 "with an API key instead",
                                 address->host)};
  }
  http::Router router;
  install_metrics_route(router, metrics, false);
  http::ServerOptions options;
  options.listen = {http::ListenEndpoint{address->host, static_cast<std::uint16_t>(address->port)}};
  options.threads = 1;
  return http::Server::start(std::move(router), std::move(options));
}

}  // namespace postern::server
