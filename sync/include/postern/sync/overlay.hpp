#pragma once
// Live data for checks: the store's attributes (synced kandji:*, API-set custom:*) laid over the
// tailnet inventory's, so `postern check --db` right after a sync reflects it.

#include <filesystem>

#include "postern/engine/inventory.hpp"
#include "postern/sync/store.hpp"

namespace postern::sync {

// Every stored attribute by device key (nodeId, else id), with expiries. Opens the store read
// only in effect (it never writes); a missing file is a Store error.
Result<AttributeTable> load_attribute_overlay(const std::filesystem::path& db_path);

// Pure. For each inventory device whose nodeId or id has stored attributes, each stored key
// replaces the file's value and expiry (a stored attribute without expiry clears the file's).
// Built-in node:* attributes are never overridden. Returns the number of values laid over.
std::size_t apply_overlay(engine::Inventory& inventory, const AttributeTable& overlay);

}  // namespace postern::sync
