#include "postern/sync/scheduler.hpp"

#include <algorithm>
#include <utility>

#include "postern/sync/redact.hpp"

namespace postern::sync {

Scheduler::Scheduler(SyncLedger& ledger, SyncEngine& engine, Clock& clock, NodeSource nodes,
                     SchedulerOptions options, ReportSink on_report, StartSink on_start)
    : ledger_(ledger),
      engine_(engine),
      clock_(clock),
      nodes_(std::move(nodes)),
      options_(options),
      on_report_(std::move(on_report)),
      on_start_(std::move(on_start)),
      rng_(options.seed != 0 ? options.seed
                             : static_cast<std::uint64_t>(clock.now().time_since_epoch().count())) {
}

Scheduler::~Scheduler() {
  stop();
  for (auto& [id, worker] : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void Scheduler::trigger(std::int64_t integration_id) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[integration_id];
  if (state.running) {
    state.rerun = true;  // coalesce: one more run after this one, however many triggers
  } else {
    state.forced = true;
  }
  cv_.notify_all();
}

void Scheduler::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

TimePoint Scheduler::next_after(TimePoint finished) {
  Millis offset{0};
  if (options_.jitter.count() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    std::uniform_int_distribution<Millis::rep> dist(-options_.jitter.count(),
                                                    options_.jitter.count());
    offset = Millis{dist(rng_)};
  }
  return finished + options_.interval + offset;
}

bool Scheduler::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool Scheduler::running(std::int64_t integration_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto found = states_.find(integration_id);
  return found != states_.end() && found->second.running;
}

bool Scheduler::start_run(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[id];
  if (state.running) {
    state.rerun = true;
    return false;
  }
  state.running = true;
  state.forced = false;
  return true;
}

std::optional<std::int64_t> planned_run(const SyncStatus& status, Millis interval, Millis jitter) {
  if (!status.next_run || !status.last_attempt) return status.next_run;
  const auto seconds = [](Millis m) { return m.count() / 1000; };
  const std::int64_t own = *status.last_attempt + seconds(interval);
  return *status.next_run > own + seconds(jitter) ? own : *status.next_run;
}

std::set<std::int64_t> Scheduler::take_triggers() {
  std::set<std::int64_t> forced;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, state] : states_) {
    if (state.forced && !state.running) forced.insert(id);
    state.forced = false;
  }
  return forced;
}

std::vector<Integration> Scheduler::due_integrations(bool ignore_schedule) {
  std::vector<Integration> due;
  // Used up here whatever follows: a trigger left standing for an integration that is paused,
  // removed or unreadable kept the loop from ever waiting (a core spent doing nothing).
  const auto forced_ids = take_triggers();
  auto integrations = ledger_.list_integrations();
  if (!integrations) return due;
  const auto now = to_unix(clock_.now());
  for (const auto& integration : integrations.value()) {
    const bool forced = forced_ids.count(integration.id) > 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (states_[integration.id].running) continue;
    }
    auto status = ledger_.load_status(integration.id);
    if (!status) continue;
    const SyncStatus& s = status.value();
    if (s.paused_until && *s.paused_until > now) continue;  // only a config change unpauses
    const auto next = planned_run(s, options_.interval, options_.jitter);
    if (forced || ignore_schedule || !next || *next <= now) due.push_back(integration);
  }
  return due;
}

void Scheduler::run_to_completion(const Integration& first) {
  // The list a run was chosen from can be older than the status that made it due (a
  // configuration change commits both between the two reads): a run starts from what the store
  // holds now, or it would sync once with the old configuration and then again.
  Integration integration = first;
  if (auto latest = ledger_.find_integration(first.provider);
      latest && latest.value() && latest.value()->id == first.id) {
    integration = *latest.value();
  }
  for (;;) {
    if (on_start_) on_start_(integration);
    // "Sync now" requests stored from here on (another replica's, say) ask for one more run.
    const auto at_start = ledger_.load_status(integration.id);
    const std::int64_t requests_at_start = at_start ? at_start.value().sync_requests : 0;
    SyncReport report;
    auto nodes = nodes_();
    if (nodes) {
      report = engine_.sync(integration, nodes.value());
    } else {
      report.error = nodes.error();
      (void)ledger_.edit_status(integration.id, [&](SyncStatus& s) {
        s.last_attempt = to_unix(clock_.now());
        s.last_error = truncate_utf8("cannot load the tailnet: " + nodes.error().message, 500);
        s.last_error_kind = std::string(kind_name(nodes.error().kind));
      });
    }
    // Schedule the next run, unless the sync paused the integration or its configuration changed
    // meanwhile (then the store already asks for a run now).
    auto latest = ledger_.find_integration(integration.provider);
    const bool still_there = latest && latest.value() && latest.value()->id == integration.id;
    const bool changed =
        still_there && latest.value()->config_version != integration.config_version;
    // A trigger during the run, with a spacing: planned rerun_spacing after this run ends, in the
    // status like any other slot, instead of running again at once.
    bool spaced_rerun = false;
    if (options_.rerun_spacing.count() > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      spaced_rerun = std::exchange(states_[integration.id].rerun, false);
    }
    // A run that failed because stop() abandoned it plans nothing: the integration stays due, so
    // the next start (or the next lease holder) runs it at once.
    if (still_there && !changed && (report.ok || !stopping())) {
      const auto ended = clock_.now();
      const auto next = to_unix(next_after(ended));
      const auto rerun = to_unix(ended + options_.rerun_spacing);
      (void)ledger_.edit_status(integration.id, [&](SyncStatus& s) {
        if (s.paused_until && *s.paused_until > to_unix(ended)) return;
        const bool asked_meanwhile = s.sync_requests != requests_at_start;
        s.next_run = spaced_rerun || asked_meanwhile ? std::min(next, rerun) : next;
      });
    }
    // A run reported as finished no longer reads as running (a client that saw the report must
    // not see "syncing now" after it), so the state is settled before the report. (A spaced
    // trigger that came while the next slot was being stored runs at once: a rare second run.)
    bool finished = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      State& state = states_[integration.id];
      finished = !still_there || stopping_ || (!state.rerun && !changed);
      state.rerun = false;
      if (finished) {
        state.running = false;
        cv_.notify_all();
      }
    }
    if (on_report_) on_report_(integration, report);
    if (finished) return;
    integration = *latest.value();
  }
}

int Scheduler::run_pending() {
  int runs = 0;
  for (const auto& integration : due_integrations(false)) {
    if (!start_run(integration.id)) continue;
    run_to_completion(integration);
    ++runs;
  }
  return runs;
}

int Scheduler::run_all_now() {
  int runs = 0;
  for (const auto& integration : due_integrations(true)) {
    if (!start_run(integration.id)) continue;
    run_to_completion(integration);
    ++runs;
  }
  return runs;
}

void Scheduler::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    for (const auto& integration : due_integrations(false)) {
      if (!start_run(integration.id)) continue;
      std::lock_guard<std::mutex> lock(mu_);
      auto& worker = workers_[integration.id];
      if (worker.joinable()) worker.join();  // the previous run has finished (running was false)
      worker = std::thread([this, integration] { run_to_completion(integration); });
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) break;
    bool forced = false;
    for (const auto& [id, state] : states_) forced = forced || (state.forced && !state.running);
    if (!forced) clock_.wait_until(lock, cv_, clock_.now() + options_.poll);
  }
  std::map<std::int64_t, std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& [id, worker] : workers) {
    if (worker.joinable()) worker.join();
  }
}

}  // namespace postern::sync
