#pragma once
// One posture integration and its sync status as JSON, the same for
// `postern integrations list|status --format json` and the server. Never holds the token: only
// whether one is stored.

#include <cstdint>
#include <nlohmann/json.hpp>

#include "postern/control/tailnet.hpp"

namespace postern::app {

// {id, provider, url, token: "set"|"missing", configVersion, createdAt, updatedAt, state,
//  lastSync, lastAttempt, lastError, lastErrorKind, pausedUntil, nextRun, providerHostCount,
//  matchedCount, possibleMatchedCount, ambiguousSerials, recordsWithoutSerial, pages, durationMs,
//  warning}; times are RFC 3339 or null, absent texts null. `state` comes from the control
// layer: "ok", "pending", "failing", "paused" or "stale".
nlohmann::json integration_json(const control::IntegrationView& view, std::int64_t now);

}  // namespace postern::app
