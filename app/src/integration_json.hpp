#pragma once
// One posture integration and its sync status as JSON, the same for
// `postern integrations list|status --format json` and the server's `GET /v1/integrations`.
// Never holds the token: only whether one is stored.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "postern/sync/store.hpp"

namespace postern::app {

// {id, provider, url, token: "set"|"missing", configVersion, createdAt, updatedAt, state,
//  lastSync, lastAttempt, lastError, lastErrorKind, pausedUntil, nextRun, providerHostCount,
//  matchedCount, possibleMatchedCount, ambiguousSerials, recordsWithoutSerial, pages, durationMs,
//  warning}; times are RFC 3339 or null, absent texts null. `state` is "ok", "pending" (never
//  synced), "failing" (last run failed), "paused" (authentication failure, until a configuration
//  change or the pause ends) or "stale" (no successful sync for 24 h). `status` is
//  default-constructed for
// an integration that never ran.
nlohmann::json integration_json(const sync::Integration& integration,
                                const sync::SyncStatus& status, bool token_set, std::int64_t now);

}  // namespace postern::app
