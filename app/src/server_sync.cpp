#include "server_sync.hpp"

#include <algorithm>

#include "postern/sync/result.hpp"

namespace postern::server {

SyncRunner::SyncRunner(LiveState& state, Log& log, std::chrono::seconds interval)
    : state_(state), log_(log), transport_(sync::make_curl_transport()) {
  // Every token read for a sync is registered with the log, which then redacts it wherever it
  // might appear (the sync layer already redacts its own errors; this is the second line).
  auto tokens = [read = sync::file_token_reader(*state.paths().db),
                 &log](const sync::Integration& integration) {
    auto token = read(integration);
    if (token) log.add_secret(token.value());
    return token;
  };
  engine_ = std::make_unique<sync::SyncEngine>(*state.store(), *transport_, clock_, tokens);
  sync::SchedulerOptions options;
  options.interval = std::chrono::duration_cast<sync::Millis>(interval);
  options.jitter = std::min(options.jitter, options.interval / 10);
  scheduler_ = std::make_unique<sync::Scheduler>(
      *state.store(), *engine_, clock_,
      [this]() -> sync::Result<std::vector<sync::TailnetNode>> { return state_.tailnet_nodes(); },
      options,
      [this](const sync::Integration& integration, const sync::SyncReport& report) {
        on_report(integration, report);
      });
}

SyncRunner::~SyncRunner() { stop(); }

void SyncRunner::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { scheduler_->run(); });
}

void SyncRunner::stop() {
  scheduler_->stop();
  if (thread_.joinable()) thread_.join();
}

bool SyncRunner::trigger(std::string_view provider) {
  auto found = state_.store()->find_integration(provider);
  if (!found || !found.value()) return false;
  scheduler_->trigger(found.value()->id);
  return true;
}

void SyncRunner::on_report(const sync::Integration& integration, const sync::SyncReport& report) {
  const std::string name = "sync " + integration.provider;
  if (!report.ok) {
    const std::string message = report.error ? report.error->message : "unknown failure";
    const std::string kind = report.error ? std::string(sync::kind_name(report.error->kind)) : "";
    const std::string code = report.error ? std::string(sync::kind_code(report.error->kind)) : "";
    log_.error(name + ": error[" + code + "]: " + kind + ": " + message);
    return;
  }
  log_.info(name + ": " + std::to_string(report.provider_devices) + " devices, " +
            std::to_string(report.matched) + " matched, " + std::to_string(report.changed_nodes) +
            " changed, " + std::to_string(report.pages) + " page(s) in " +
            std::to_string(report.duration.count()) + " ms");
  if (report.changed_nodes > 0) state_.refresh_from_store();
}

}  // namespace postern::server
