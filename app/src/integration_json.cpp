#include "integration_json.hpp"

#include "postern/control/integration_api.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {

namespace {

nlohmann::json time_or_null(const std::optional<std::int64_t>& t) {
  return t ? nlohmann::json(sync::format_rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json text_or_null(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

nlohmann::json integration_json(const control::IntegrationView& view, std::int64_t now) {
  const auto& integration = view.integration;
  const auto& status = view.status;
  const bool token_set = view.token_set;
  const bool paused = status.paused_until && *status.paused_until > now;
  return {{"id", integration.id},
          // The id Tailscale's API routes (/api/v2/posture/integrations/{id}) take.
          {"apiId", control::integration_api_id(integration)},
          {"provider", integration.provider},
          {"url", integration.url},
          {"token", token_set ? "set" : "missing"},
          {"configVersion", integration.config_version},
          {"createdAt", sync::format_rfc3339(integration.created_at)},
          {"updatedAt", sync::format_rfc3339(integration.updated_at)},
          {"state", view.state},
          {"stale", view.stale},
          {"running", view.running},  // a sync in flight on this server
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
