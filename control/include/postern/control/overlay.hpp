#pragma once
// The stored attributes (synced kandji:*, API-set custom:*) laid over the tailnet inventory's.
// One rule maps a stored row to a device: its key is sync::device_key (nodeId, else id).

#include "postern/engine/inventory.hpp"
#include "postern/sync/records.hpp"

namespace postern::control {

// Pure. For each inventory device with stored attributes, each stored key replaces the file's
// value and expiry (a stored attribute without expiry clears the file's). Built-in node:*
// attributes are never overridden. Returns the number of values laid over.
std::size_t apply_overlay(engine::Inventory& inventory, const sync::AttributeTable& overlay);

}  // namespace postern::control
