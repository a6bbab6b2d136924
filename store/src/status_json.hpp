#pragma once
// A sync status as the JSON text both stores keep in their sync_status table, the schedule a
// sync's commit keeps, and the integration id added to a creation event's JSON details.
#include <nlohmann/json.hpp>
#include <string>

#include "postern/sync/records.hpp"

namespace postern::store {

nlohmann::json status_to_json(const sync::SyncStatus& s);
// Unknown or missing fields read as their defaults, so older rows still load.
sync::SyncStatus status_from_json(const std::string& text);

// A sync's status as its commit writes it: the schedule (next_run, sync_requests) as `stored`,
// since a "sync now" may have changed it while the sync ran (SyncLedger::commit_sync).
sync::SyncStatus with_stored_schedule(sync::SyncStatus committed, const sync::SyncStatus& stored);

// An integration's creation event with the id the store just gave it (spec kandji.md §3.8:
// "payload: provider, integration id, ..."); details that are not a JSON object stay as they are.
std::string with_integration_id(const std::string& details, std::int64_t id);

}  // namespace postern::store
