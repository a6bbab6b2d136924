#pragma once
// A sync status as the JSON text both stores keep in their sync_status table.
#include <nlohmann/json.hpp>
#include <string>

#include "postern/sync/records.hpp"

namespace postern::store {

nlohmann::json status_to_json(const sync::SyncStatus& s);
// Unknown or missing fields read as their defaults, so older rows still load.
sync::SyncStatus status_from_json(const std::string& text);

}  // namespace postern::store
