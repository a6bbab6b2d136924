// Integration operations: create, update, delete, sync now, the schedule, status; and the ledger
// through which a sync's change set is committed and applied.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "postern/grammar/ascii.hpp"
#include "postern/grammar/time.hpp"
#include "postern/sync/provider.hpp"
#include "postern/sync/redact.hpp"
#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;
using nlohmann::json;

constexpr std::int64_t kStaleAfterSeconds = 24 * 3600;

std::string integration_state(const sync::SyncStatus& status, std::int64_t now) {
  if (status.paused_until && *status.paused_until > now) return "paused";
  if (!status.last_error.empty()) return "failing";
  if (!status.last_success) return "pending";
  if (now - *status.last_success > kStaleAfterSeconds) return "stale";
  return "ok";
}

// Spec kandji.md §3.7: a long time without success must show, also while failing or paused.
bool integration_stale(const sync::Integration& integration, const sync::SyncStatus& status,
                       std::int64_t now) {
  const std::int64_t since = status.last_success ? *status.last_success : integration.created_at;
  return now - since > kStaleAfterSeconds;
}

Error unknown_provider(const std::string& provider) {
  std::string supported;
  for (const auto& id : sync::provider_ids()) supported += (supported.empty() ? "" : ", ") + id;
  return invalid(DiagCode::C740, fmt::format("unknown provider `{}`", provider),
                 fmt::format("supported providers: {}", supported));
}

Error no_integration(const std::string& provider) {
  return not_found(DiagCode::C740, fmt::format("no `{}` integration", provider),
                   fmt::format("connect one first (postern integrations add {} --url URL "
                               "--token-file FILE)",
                               provider));
}

Error needs_tailnet() {
  return invalid(DiagCode::C703, "syncing needs the tailnet inventory to match devices against",
                 "give --tailnet FILE");
}

// The token goes into an HTTP header: a line break in it would add headers of the caller's
// choosing to every request the sync sends, a NUL would cut it short.
std::optional<Error> unusable_token(std::string_view token) {
  constexpr std::size_t kMaxToken = 4096;
  if (token.empty()) return invalid(DiagCode::C741, "the API token is empty");
  if (token.size() > kMaxToken) {
    return invalid(DiagCode::C741, fmt::format("the API token is longer than {} bytes", kMaxToken),
                   "give the token alone, as Kandji shows it");
  }
  if (grammar::has_ascii_control(token)) {
    return invalid(DiagCode::C741,
                   "the API token contains a control character (a line break, tab or NUL)",
                   "give the token alone, as Kandji shows it");
  }
  return std::nullopt;
}

Error url_without_token(const std::string& stored, const std::string& requested) {
  return invalid(DiagCode::C745,
                 fmt::format("moving the integration from `{}` to `{}` needs its API token again",
                             stored, requested),
                 "give the token with the new URL: the stored token is only ever sent to the URL "
                 "it was given with");
}

// A token pasted into the URL by mistake is not repeated back in the URL's error (spec §2.6:
// redact it everywhere). Short test tokens are left alone: they would garble the message.
std::string without_token(const std::string& message, const std::string& token) {
  constexpr std::size_t kShortest = 8;
  return token.size() < kShortest ? message : sync::redact(message, token);
}

Error integrations_need_store() {
  return invalid(DiagCode::K821, "posture integrations need a store", "run with --db FILE");
}

}  // namespace

// ---- the ledger ----

sync::Result<std::vector<sync::Integration>> LiveLedger::list_integrations() {
  return impl_.store().list_integrations();
}
sync::Result<std::optional<sync::Integration>> LiveLedger::find_integration(
    std::string_view provider) {
  return impl_.store().find_integration(provider);
}
sync::Result<sync::AttributeTable> LiveLedger::load_attributes() {
  return impl_.store().load_attributes();
}
sync::Result<sync::SyncStatus> LiveLedger::load_status(std::int64_t integration_id) {
  return impl_.load_status(integration_id);
}
sync::Result<sync::SyncStatus> LiveLedger::edit_status(
    std::int64_t integration_id, const std::function<void(sync::SyncStatus&)>& edit) {
  auto edited = impl_.store().edit_status(integration_id, edit);
  if (edited) {
    impl_.note_status_write(integration_id, edited.value(), sync::ok_status());
    return edited;
  }
  // Not kept: the status it meant to write counts in memory meanwhile (SY15), over what is
  // known (nothing, when the store cannot be read either).
  auto current = impl_.load_status(integration_id);
  sync::SyncStatus meant = current ? current.value() : sync::SyncStatus{};
  edit(meant);
  impl_.note_status_write(integration_id, meant, sync::Status(edited.error()));
  return edited;
}
sync::Status LiveLedger::commit_sync(const sync::SyncCommit& commit) {
  std::lock_guard lock(impl_.writer);
  auto committed = impl_.store().commit_sync(commit);
  if (committed) {
    impl_.note_status_write(commit.integration_id, commit.status, committed);
    impl_.publish(commit.writes);
  }
  return committed;
}

namespace {

// Whether the store still holds the status an unsaved attempt was laid over: a configuration
// change (which clears a pause and plans a run now), a "sync now" or another process's sync
// writes one of these, and then the stored status is newer than the unsaved attempt.
bool same_stored_status(const sync::SyncStatus& a, const sync::SyncStatus& b) {
  return a.next_run == b.next_run && a.paused_until == b.paused_until &&
         a.last_attempt == b.last_attempt && a.last_success == b.last_success &&
         a.commits == b.commits;
}

}  // namespace

sync::Result<sync::SyncStatus> Tailnet::Impl::load_status(std::int64_t integration_id) const {
  auto stored = store().load_status(integration_id);
  std::lock_guard lock(unsaved_mu);
  const auto unsaved = unsaved_status.find(integration_id);
  if (unsaved == unsaved_status.end()) return stored;
  // When the store cannot be read either, the attempt it could not keep is all there is to say.
  if (!stored) return unsaved->second.status;
  if (unsaved->second.base && !same_stored_status(stored.value(), *unsaved->second.base)) {
    unsaved_status.erase(unsaved);  // written since: the store's status is the newer one
    return stored;
  }
  // The attempt, and the plan made after it: with the store's older plan the schedule would find
  // the integration due again at once and call the provider every second while the disk is full.
  auto status = stored.value();
  const auto& attempt = unsaved->second.status;
  status.last_attempt = attempt.last_attempt;
  status.last_error = attempt.last_error;
  status.last_error_kind = attempt.last_error_kind;
  status.duration_ms = attempt.duration_ms;
  status.next_run = attempt.next_run;
  status.paused_until = attempt.paused_until;
  return status;
}

void Tailnet::Impl::note_status_write(std::int64_t integration_id, const sync::SyncStatus& status,
                                      const sync::Status& written) {
  if (written || written.error().kind == sync::SyncErrorKind::Discarded) {
    std::lock_guard lock(unsaved_mu);
    unsaved_status.erase(integration_id);
    return;
  }
  if (status.last_error.empty()) return;
  // What the store still holds (reads work on a full disk): the attempt counts while it does.
  std::optional<sync::SyncStatus> held;
  {
    std::lock_guard lock(unsaved_mu);
    const auto unsaved = unsaved_status.find(integration_id);
    if (unsaved != unsaved_status.end()) held = unsaved->second.base;
  }
  if (!held) {
    if (auto stored = store().load_status(integration_id)) held = stored.value();
  }
  std::lock_guard lock(unsaved_mu);
  unsaved_status[integration_id] = UnsavedStatus{status, held};
}

// ---- the sync machinery ----

sync::SyncEngine& Tailnet::Impl::syncer() {
  if (!sync_engine) {
    sync::HttpTransport* transport = self.options_.transport;
    if (transport == nullptr) {
      own_transport = sync::make_curl_transport();
      transport = own_transport.get();
    }
    auto tokens = [this](const sync::Integration& integration) {
      return store().load_token(integration.provider);
    };
    sync_engine = std::make_unique<sync::SyncEngine>(ledger, *transport, *self.clock_, tokens,
                                                     self.options_.sync_options);
    scheduler = std::make_unique<sync::Scheduler>(
        ledger, *sync_engine, *self.clock_,
        [this]() -> sync::Result<std::vector<sync::TailnetNode>> { return nodes(); },
        schedule_options(),
        [this](const sync::Integration& integration, const sync::SyncReport& report) {
          if (on_run) on_run(SyncRun{integration, report});
        },
        // A sync that hangs shows in the log as one that started and has not finished.
        [this](const sync::Integration& integration) {
          log(LogLevel::info, fmt::format("{}: sync started", integration.provider));
        });
  }
  return *sync_engine;
}

sync::SchedulerOptions Tailnet::Impl::schedule_options() const {
  sync::SchedulerOptions schedule;
  schedule.interval = std::chrono::duration_cast<sync::Millis>(self.options_.sync_interval);
  schedule.jitter = std::min(std::chrono::duration_cast<sync::Millis>(self.options_.sync_jitter),
                             schedule.interval / 10);
  schedule.rerun_spacing = std::chrono::duration_cast<sync::Millis>(self.options_.sync_now_spacing);
  return schedule;
}

void Tailnet::Impl::start_scheduler() {
  std::lock_guard lock(scheduler_mu);
  if (scheduler_thread.joinable()) return;
  syncer();
  scheduler_thread = std::thread([this] { scheduler->run(); });
}

void Tailnet::Impl::stop_scheduler() {
  std::lock_guard lock(scheduler_mu);
  if (!scheduler) return;
  // A sync in flight is abandoned (it commits nothing) instead of holding the stop for minutes.
  if (own_transport) own_transport->cancel();
  scheduler->stop();
  if (scheduler_thread.joinable()) scheduler_thread.join();
  // A stopped scheduler does not run again: the next lease holder term gets a fresh one, and a
  // fresh transport.
  scheduler.reset();
  sync_engine.reset();
  own_transport.reset();
}

void Tailnet::start_syncing(std::function<void(const SyncRun&)> on_run) {
  if (!store_ || !options_.tailnet_path || impl_->scheduler_thread.joinable()) return;
  impl_->on_run = std::move(on_run);
  impl_->schedules = true;
  // Replicas: only the lease holder runs the schedule.
  if (impl_->replicator) {
    impl_->replicator->start_lease();
    return;
  }
  impl_->start_scheduler();
}

void Tailnet::stop_syncing() {
  if (!impl_) return;
  impl_->schedules = false;
  if (impl_->replicator) impl_->replicator->stop_lease();
  impl_->stop_scheduler();
}

bool Tailnet::holds_sync_lease() const {
  return impl_->replicator && impl_->replicator->holds_lease();
}

bool Tailnet::is_replica() const noexcept { return impl_->replicator != nullptr; }

namespace {

// An integration paused by an authentication failure syncs again when its token or URL changes
// or the pause ends (spec kandji.md §2.2): a "sync now" meanwhile would only repeat the refused
// request, so it is refused saying how to resume, not reported as started.
std::optional<Error> refuse_if_paused(const sync::SyncStatus& s,
                                      const sync::Integration& integration, std::int64_t now) {
  if (!s.paused_until || *s.paused_until <= now) return std::nullopt;
  return Error{ErrorKind::Conflict, DiagCode::K840,
               fmt::format("`{}` is paused until {} after an authentication failure{}",
                           integration.provider, timefmt::format_rfc3339(*s.paused_until),
                           s.last_error.empty() ? "" : ": " + s.last_error),
               "give it the API token again (`postern integrations update " + integration.provider +
                   " --token-file FILE`, or Edit in the console): a new token, or the same one "
                   "once its permissions are fixed in the provider, resumes it at once"};
}

}  // namespace

Outcome<SyncNowAnswer> Tailnet::sync_now(const std::string& provider) {
  if (!store_) return integrations_need_store();
  auto found = store_->find_integration(provider);
  if (!found) return from_sync(found.error());
  if (!found.value()) return no_integration(provider);
  if (!options_.tailnet_path) return needs_tailnet();
  const sync::Integration integration = *found.value();
  const auto t = now();
  auto current = impl_->load_status(integration.id);  // with an attempt the store could not keep
  if (!current) return from_sync(current.error());
  if (auto paused = refuse_if_paused(current.value(), integration, t)) return *paused;
  std::unique_lock schedule(impl_->scheduler_mu);
  if (!impl_->replicator) impl_->syncer();
  const bool scheduled = impl_->replicator || impl_->scheduler_thread.joinable();
  if (!scheduled) {
    schedule.unlock();
    return sync_here(integration);
  }
  if (!impl_->replicator && impl_->scheduler->running(integration.id)) {
    // Coalesced: one more run, sync_now_spacing after this one ends (not known yet).
    impl_->scheduler->trigger(integration.id);
    return SyncNowAnswer{std::nullopt, std::nullopt};
  }
  // The lease holder's own run in flight, seen before the request is stored (after it, the run
  // could be the one the request itself made due): the count plans one more after it.
  const bool holder_running =
      impl_->replicator && impl_->scheduler && impl_->scheduler->running(integration.id);
  // Made due in the store, not only in memory: a stop before the run leaves it due at the next
  // start (or for the next lease holder, whose schedule reads the store every second).
  const auto& last = current.value().last_attempt;
  const std::int64_t at = last ? std::max(t, *last + options_.sync_now_spacing.count()) : t;
  auto planned = store_->edit_status(integration.id, [at](sync::SyncStatus& s) {
    if (!s.next_run || *s.next_run > at) s.next_run = at;
    ++s.sync_requests;  // a run in flight (the lease holder's) plans one more after it
  });
  if (!planned) return from_sync(planned.error());
  if (holder_running) return SyncNowAnswer{std::nullopt, std::nullopt};
  const std::int64_t starts_at = std::max(t, planned.value().next_run.value_or(t));
  if (!impl_->replicator && starts_at <= t) impl_->scheduler->trigger(integration.id);
  return SyncNowAnswer{std::nullopt, starts_at};
}

SyncNowAnswer Tailnet::sync_here(const sync::Integration& integration) {
  const auto report = impl_->sync_engine->sync(integration, impl_->nodes());
  // The next scheduled run counts from this one, unless the sync paused the integration.
  const auto t = now();
  const auto next = t + options_.sync_interval.count();
  (void)store_->edit_status(integration.id, [t, next](sync::SyncStatus& s) {
    if (!(s.paused_until && *s.paused_until > t)) s.next_run = next;
  });
  return SyncNowAnswer{SyncRun{integration, report}, t};
}

Outcome<std::vector<SyncRun>> Tailnet::sync_all_now() {
  if (!store_) return integrations_need_store();
  if (!options_.tailnet_path) return needs_tailnet();
  impl_->syncer();
  std::vector<SyncRun> runs;
  auto previous = impl_->on_run;
  impl_->on_run = [&runs](const SyncRun& run) { runs.push_back(run); };
  impl_->scheduler->run_all_now();
  impl_->on_run = previous;
  return runs;
}

// ---- status ----

Outcome<std::vector<IntegrationView>> Tailnet::integrations() const {
  if (!store_) return std::vector<IntegrationView>{};
  auto all = store_->list_integrations();
  if (!all) return from_sync(all.error());
  std::vector<IntegrationView> views;
  const auto t = now();
  std::lock_guard schedule(impl_->scheduler_mu);  // the scheduler is read for `running`
  const auto own = impl_->schedule_options();
  for (const auto& i : all.value()) {
    auto status = impl_->load_status(i.id);
    IntegrationView v{i, status ? status.value() : sync::SyncStatus{}, false, {}, false, false};
    v.token_set = store_->load_token(i.provider).ok();
    v.running = impl_->scheduler && impl_->scheduler->running(i.id);
    if (impl_->schedules && !(v.status.paused_until && *v.status.paused_until > t)) {
      // The run this process's schedule will start, which a shorter interval brings forward.
      v.status.next_run = sync::planned_run(v.status, own.interval, own.jitter);
    }
    v.state = integration_state(v.status, t);
    v.stale = integration_stale(i, v.status, t);
    views.push_back(std::move(v));
  }
  return views;
}

Outcome<IntegrationView> Tailnet::integration(std::string_view provider) const {
  auto all = integrations();
  if (!all) return all.error();
  for (auto& v : all.value()) {
    if (v.integration.provider == provider) return std::move(v);
  }
  if (!sync::make_provider(provider)) return unknown_provider(std::string(provider));
  return no_integration(std::string(provider));
}

// ---- configuration ----

Outcome<IntegrationView> Tailnet::create_integration(const std::string& provider,
                                                     const std::string& url,
                                                     const std::string& token, const Actor& actor) {
  if (!store_) return integrations_need_store();
  const auto impl_provider = sync::make_provider(provider);
  if (!impl_provider) return unknown_provider(provider);
  auto normalised = impl_provider->normalise_url(url);
  if (!normalised) {
    return invalid(DiagCode::Y606, without_token(normalised.error().message, token),
                   "give the API URL from Kandji's Settings > Access, e.g. `acme.api.kandji.io`");
  }
  if (auto refused = unusable_token(token)) return *refused;
  auto existing = store_->find_integration(provider);
  if (!existing) return from_sync(existing.error());
  if (existing.value()) {
    return conflict(DiagCode::C742, fmt::format("a `{}` integration already exists", provider),
                    "change it with an update instead");
  }
  const auto t = now();
  const json details{{"provider", provider}, {"url", normalised.value()}, {"token", "set"}};
  auto created = store_->create_integration(
      sync::Integration{0, provider, normalised.value(), 1, t, t, url},
      sync::AuditEvent{0, t, actor.name, "integration:" + provider,
                       std::string(sync::kActionCreate), details.dump(), actor.origin},
      store::IntegrationWrite{token, std::nullopt});
  if (!created) return from_sync(created.error());
  impl_->log(LogLevel::info,
             fmt::format("{} connected {} ({})", actor.name, provider, normalised.value()));
  return integration(provider);
}

Outcome<IntegrationView> Tailnet::update_integration(const std::string& provider,
                                                     const IntegrationChange& change,
                                                     const Actor& actor) {
  if (!store_) return integrations_need_store();
  const auto impl_provider = sync::make_provider(provider);
  if (!impl_provider) return unknown_provider(provider);
  if (!change.url && !change.token) {
    return invalid(DiagCode::C703, "nothing to update",
                   "give a new URL or the token (--url, --token-file); giving the token again, "
                   "even the same one, also resumes an integration paused by an authentication "
                   "failure");
  }
  auto existing = store_->find_integration(provider);
  if (!existing) return from_sync(existing.error());
  if (!existing.value()) return no_integration(provider);
  sync::Integration next = *existing.value();
  json changed = json::array();
  if (change.url) {
    auto normalised = impl_provider->normalise_url(*change.url);
    if (!normalised) {
      return invalid(DiagCode::Y606,
                     without_token(normalised.error().message, change.token.value_or("")));
    }
    if (normalised.value() != next.url) {
      // The stored token goes only where it was given for: otherwise whoever may edit the
      // integration could send it to a host of their choosing and read it there.
      if (!change.token) return url_without_token(next.url, normalised.value());
      changed.push_back("url");
    }
    next.url = normalised.value();
    next.url_as_given = *change.url;
  }
  bool rotated = false;
  if (change.token) {
    if (auto refused = unusable_token(*change.token)) return *refused;
    auto old = store_->load_token(provider);
    rotated = !old || old.value() != *change.token;
    if (rotated) changed.push_back("token");
  }
  next.updated_at = now();
  const json details{{"provider", provider},
                     {"integration_id", next.id},
                     {"url", next.url},
                     {"changed", changed},
                     {"token_rotated", rotated ? "yes" : "no"}};
  auto updated = store_->update_integration(
      next,
      sync::AuditEvent{0, next.updated_at, actor.name, "integration:" + provider,
                       std::string(sync::kActionUpdate), details.dump(), actor.origin},
      store::IntegrationWrite{change.token, existing.value()->config_version});
  if (!updated && updated.error().kind == sync::SyncErrorKind::Discarded) {
    // Decided on a configuration another change has replaced (the URL-and-token rule above
    // held for that one): nothing was written.
    return conflict(DiagCode::C746, updated.error().message,
                    "read the integration again, then repeat the change if it still applies");
  }
  if (!updated) return from_sync(updated.error());
  return integration(provider);
}

Done Tailnet::delete_integration(const std::string& provider, const Actor& actor) {
  if (!store_) return integrations_need_store();
  auto existing = store_->find_integration(provider);
  if (!existing) return from_sync(existing.error());
  if (!existing.value()) return no_integration(provider);
  auto& impl = *impl_;
  std::lock_guard lock(impl.writer);
  auto current = store_->load_attributes();
  if (!current) return from_sync(current.error());
  auto plan = sync::plan_removal(*existing.value(), current.value(), actor.name, now());
  for (auto& e : plan.events) e.origin = actor.origin;
  if (auto removed = store_->remove_integration(existing.value()->id, plan.writes, plan.events);
      !removed) {
    return from_sync(removed.error());
  }
  (void)store_->delete_token(provider);
  impl.publish(plan.writes);
  impl.log(LogLevel::info, fmt::format("{} removed {} and {} attribute(s) it wrote", actor.name,
                                       provider, plan.writes.size()));
  return done();
}

}  // namespace postern::control
