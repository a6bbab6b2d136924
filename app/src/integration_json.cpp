#include "integration_json.hpp"

#include "postern/sync/clock.hpp"

namespace postern::app {

namespace {

nlohmann::json time_or_null(const std::optional<std::int64_t>& t) {
  return t ? nlohmann::json(sync::format_rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json text_or_null(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

// After this long without a successful sync the attributes may be outdated.
constexpr std::int64_t kStaleAfterSeconds = 24 * 3600;

std::string integration_state(const sync::SyncStatus& status, std::int64_t now) {
  if (status.paused_until && *status.paused_until > now) return "paused";
  if (!status.last_error.empty()) return "failing";
  if (!status.last_success) return "pending";
  if (now - *status.last_success > kStaleAfterSeconds) return "stale";
  return "ok";
}

}  // namespace

nlohmann::json integration_json(const sync::Integration& integration,
                                const sync::SyncStatus& status, bool token_set, std::int64_t now) {
  const bool paused = status.paused_until && *status.paused_until > now;
  return {{"id", integration.id},
          {"provider", integration.provider},
          {"url", integration.url},
          {"token", token_set ? "set" : "missing"},
          {"configVersion", integration.config_version},
          {"createdAt", sync::format_rfc3339(integration.created_at)},
          {"updatedAt", sync::format_rfc3339(integration.updated_at)},
          {"state", integration_state(status, now)},
          {"lastSync", time_or_null(status.last_success)},
          {"lastAttempt", time_or_null(status.last_attempt)},
          {"lastError", text_or_null(status.last_error)},
          {"lastErrorKind", text_or_null(status.last_error_kind)},
          {"pausedUntil", time_or_null(paused ? status.paused_until : std::nullopt)},
          {"nextRun", time_or_null(status.next_run)},
          {"providerHostCount", status.provider_host_count},
          {"matchedCount", status.matched_count},
          {"possibleMatchedCount", status.possible_matched_count},
          {"ambiguousSerials", status.ambiguous_serials},
          {"recordsWithoutSerial", status.records_without_serial},
          {"pages", status.pages},
          {"durationMs", status.duration_ms},
          {"warning", text_or_null(status.warning)}};
}

}  // namespace postern::app
