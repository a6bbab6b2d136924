#include "postern/sync/sync_engine.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "postern/sync/redact.hpp"

namespace postern::sync {
namespace {

using nlohmann::json;

json value_json(const AttrValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

bool has_prefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

struct NodeDiff {
  std::string key;
  std::string name;
  std::vector<AttributeWrite> writes;
  json changes = json::array();
  bool removal_only = true;  // every write deletes and the node matched nothing
};

}  // namespace

SyncEngine::SyncEngine(SyncLedger& ledger, HttpTransport& transport, Clock& clock,
                       TokenReader tokens, EngineOptions options)
    : ledger_(ledger),
      transport_(transport),
      clock_(clock),
      tokens_(std::move(tokens)),
      options_(options) {}

void SyncEngine::record_failure(const Integration& integration, const SyncError& error,
                                const std::string& token, TimePoint started, SyncReport& report) {
  report.ok = false;
  report.error = error;
  report.error->message = redact(error.message, token);
  report.duration = std::chrono::duration_cast<Millis>(clock_.now() - started);
  if (error.kind == SyncErrorKind::Discarded) return;  // the integration changed: nothing to say
  // Abandoned because the process stops (or a replica lost the sync lease): not the provider's
  // failure, so the status keeps what the last real attempt said.
  if (transport_.cancelled()) return;
  const auto now = to_unix(clock_.now());
  // An edit, not a read and a save: a "sync now" stored meanwhile keeps its count.
  (void)ledger_.edit_status(integration.id, [&](SyncStatus& status) {
    status.last_attempt = now;
    // How long the last attempt took, failed or not: a sync that times out shows it here.
    status.duration_ms = report.duration.count();
    status.last_error = truncate_utf8(report.error->message, options_.max_error_bytes);
    status.last_error_kind = std::string(kind_name(error.kind));
    if (error.kind == SyncErrorKind::Auth) {
      status.paused_until = now + options_.auth_pause.count();
      status.next_run = status.paused_until;
    }
  });  // removed meanwhile: nothing to record
}

SyncReport SyncEngine::sync(const Integration& integration, const std::vector<TailnetNode>& nodes,
                            const std::function<void(const SyncProgress&)>& progress) {
  const TimePoint started = clock_.now();
  SyncReport report;
  const auto provider = make_provider(integration.provider);
  if (!provider) {
    record_failure(
        integration,
        SyncError{SyncErrorKind::Config, "unknown provider `" + integration.provider + "`"}, {},
        started, report);
    return report;
  }
  auto token = tokens_(integration);
  if (!token) {
    record_failure(integration, token.error(), {}, started, report);
    return report;
  }
  // Read before fetching: a commit by another process from now on makes this result stale.
  auto at_start = ledger_.load_status(integration.id);
  if (!at_start) {
    record_failure(integration, at_start.error(), token.value(), started, report);
    return report;
  }
  const ProviderConfig config{integration.url, token.value()};
  SyncProgress shown;
  auto fetched =
      provider->fetch(transport_, clock_, config, options_.fetch, [&](const FetchProgress& p) {
        shown.pages = p.pages;
        shown.devices = p.devices;
        if (progress) progress(shown);
      });
  if (!fetched) {
    record_failure(integration, fetched.error(), config.token, started, report);
    return report;
  }
  const Snapshot& snapshot = fetched.value();
  const MatchResult match = match_devices(nodes, snapshot.devices);
  shown.matched = match.matched;
  if (progress) progress(shown);

  auto current = ledger_.load_attributes();
  auto previous = ledger_.load_status(integration.id);
  if (!current || !previous) {
    record_failure(integration, !current ? current.error() : previous.error(), config.token,
                   started, report);
    return report;
  }
  const std::string prefix = provider->attribute_prefix();
  const std::string source = provider->id();
  const auto now = to_unix(clock_.now());

  std::vector<NodeDiff> diffs;
  std::set<std::string> seen_nodes;
  static const FileValues kNoFileValues;
  // `desired` against what the node holds now: the store's row, else the inventory file's own
  // value (Tailscale's integration may have written one there).
  auto diff_node = [&](const std::string& key, const std::string& name,
                       const std::map<std::string, AttrValue>& desired,
                       const FileValues& file_values, bool matched) {
    NodeDiff diff{key, name, {}, json::array(), !matched};
    const auto held = current.value().find(key);
    for (const auto& [attr, value] : desired) {
      const StoredAttribute* stored = nullptr;
      if (held != current.value().end()) {
        const auto it = held->second.find(attr);
        if (it != held->second.end()) stored = &it->second;
      }
      const auto in_file = file_values.find(attr);
      const AttrValue* old = stored != nullptr              ? &stored->value
                             : in_file != file_values.end() ? &in_file->second
                                                            : nullptr;
      if (old != nullptr && *old == value && (stored == nullptr || stored->source == source)) {
        continue;
      }
      json change{{"key", attr}, {"new", value_json(value)}};
      if (old != nullptr) change["old"] = value_json(*old);
      diff.changes.push_back(std::move(change));
      diff.writes.push_back(AttributeWrite{key, attr, value, source, std::nullopt});
      if (matched) diff.removal_only = false;
    }
    if (held != current.value().end()) {
      for (const auto& [attr, stored] : held->second) {
        if (!has_prefix(attr, prefix) || desired.count(attr) != 0) continue;
        diff.changes.push_back(json{{"key", attr}, {"old", value_json(stored.value)}});
        diff.writes.push_back(AttributeWrite{key, attr, std::nullopt, source, std::nullopt});
      }
    }
    if (!diff.writes.empty()) diffs.push_back(std::move(diff));
  };
  // A node the provider does not vouch for holds none of its attributes; a value the inventory
  // file gives it cannot be deleted from the store, so it is masked with `false` (spec §2.5
  // allows false/false; decisions SY11).
  auto unvouched = [&](const FileValues& file_values) {
    std::map<std::string, AttrValue> masks;
    for (const auto& [attr, value] : file_values) {
      if (has_prefix(attr, prefix)) masks.emplace(attr, AttrValue{false});
    }
    return masks;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    seen_nodes.insert(nodes[i].key);
    const NodeMatch& m = match.nodes[i];
    if (m.outcome == MatchOutcome::Ambiguous) continue;  // left untouched, reported in status
    const bool matched = m.outcome == MatchOutcome::Matched;
    const auto& file_values = nodes[i].file_attributes;
    diff_node(nodes[i].key, nodes[i].name, matched ? m.desired : unvouched(file_values),
              file_values, matched);
  }
  // Devices no longer in the tailnet keep nothing this provider wrote.
  for (const auto& [key, attrs] : current.value()) {
    if (seen_nodes.count(key) == 0) diff_node(key, {}, {}, kNoFileValues, false);
  }

  // Mass-removal guard (spec §3.6): hold back removals once when they look like an outage.
  const SyncStatus& before = previous.value();
  std::size_t removals = 0;
  for (const auto& d : diffs) removals += d.removal_only ? 1 : 0;
  const bool suspect =
      removals > 0 &&
      (snapshot.devices.empty() ||
       (before.last_success && before.matched_count > 0 &&
        static_cast<double>(removals) >
            options_.removal_guard_ratio * static_cast<double>(before.matched_count)));
  const bool hold = suspect && before.suspect_streak == 0;

  SyncCommit commit;
  commit.integration_id = integration.id;
  commit.expected_config_version = integration.config_version;
  commit.expected_commits = at_start.value().commits;
  commit.time = now;
  for (auto& d : diffs) {
    if (hold && d.removal_only) {
      ++report.removals_held;
      continue;
    }
    json details{{"node", d.key}, {"integration", source}, {"changes", d.changes}};
    if (!d.name.empty()) details["name"] = d.name;
    commit.events.push_back(AuditEvent{0, now, "integration:" + source, "node:" + d.key,
                                       std::string(kActionNodeAttribute), details.dump(),
                                       "CONTROL"});
    for (auto& w : d.writes) commit.writes.push_back(std::move(w));
  }
  SyncStatus status = before;
  status.last_success = now;
  status.last_attempt = now;
  status.last_error.clear();
  status.last_error_kind.clear();
  status.paused_until.reset();
  // Every record the provider listed (spec §3.6 step 7), those without a serial included.
  const std::size_t listed = snapshot.devices.size() + snapshot.records_without_serial;
  status.provider_host_count = static_cast<std::int64_t>(listed);
  status.matched_count = static_cast<std::int64_t>(match.matched);
  status.possible_matched_count = static_cast<std::int64_t>(match.possible_matched);
  status.ambiguous_serials = match.ambiguous_serials;
  status.records_without_serial = static_cast<std::int64_t>(snapshot.records_without_serial);
  status.pages = snapshot.pages;
  status.suspect_streak = hold ? 1 : 0;
  status.commits = at_start.value().commits + 1;
  status.warning = hold ? "held back removing " + std::to_string(report.removals_held) +
                              " node(s)' attributes: the snapshot lost too many devices; the "
                              "next sync confirms or restores them"
                        : std::string();
  report.duration = std::chrono::duration_cast<Millis>(clock_.now() - started);
  status.duration_ms = report.duration.count();
  commit.status = status;
  if (auto committed = ledger_.commit_sync(commit); !committed) {
    record_failure(integration, committed.error(), config.token, started, report);
    return report;
  }
  report.ok = true;
  report.provider_devices = listed;
  report.matched = match.matched;
  report.possible_matched = match.possible_matched;
  report.changed_nodes = commit.events.size();
  report.ambiguous_serials = match.ambiguous_serials;
  report.pages = snapshot.pages;
  return report;
}

RemovalPlan plan_removal(const Integration& integration, const AttributeTable& current,
                         const std::string& actor, std::int64_t now) {
  const auto provider = make_provider(integration.provider);
  const std::string prefix = provider ? provider->attribute_prefix() : integration.provider + ":";
  RemovalPlan plan;
  for (const auto& [device, attrs] : current) {
    json changes = json::array();
    for (const auto& [key, stored] : attrs) {
      if (stored.source != integration.provider || !has_prefix(key, prefix)) continue;
      changes.push_back(json{{"key", key}, {"old", value_json(stored.value)}});
      plan.writes.push_back(AttributeWrite{device, key, std::nullopt, stored.source, std::nullopt});
    }
    if (changes.empty()) continue;
    json details{{"node", device}, {"integration", integration.provider}, {"changes", changes}};
    plan.events.push_back(AuditEvent{0, now, actor, "node:" + device,
                                     std::string(kActionNodeAttribute), details.dump(), ""});
  }
  json details{{"provider", integration.provider},
               {"integration_id", integration.id},
               {"url", integration.url},
               {"attributes_removed", plan.writes.size()}};
  plan.events.push_back(AuditEvent{0, now, actor, "integration:" + integration.provider,
                                   std::string(kActionRemove), details.dump(), ""});
  return plan;
}

}  // namespace postern::sync
