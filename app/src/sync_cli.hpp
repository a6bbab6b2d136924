#pragma once
// Helpers shared by the sync-related subcommands (integrations, sync, attributes, audit).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/sync/matcher.hpp"
#include "postern/sync/result.hpp"
#include "postern/sync/store.hpp"

namespace postern::app {

// `postern <cmd>: error[CODE]: message` (+ `  help: ...`) on stderr.
void print_sync_error(std::string_view command, std::string_view code, std::string_view message,
                      std::string_view help = {});
void print_sync_error(std::string_view command, const sync::SyncError& error);

// Opens the store or reports C743 and returns nullptr.
std::unique_ptr<sync::Store> open_store(std::string_view command, const std::string& db);

// The tailnet's nodes from an inventory file (engine::load_inventory).
sync::Result<std::vector<sync::TailnetNode>> load_tailnet_nodes(const std::string& path);
// The full inventory (for name lookups).
sync::Result<engine::Inventory> load_tailnet(const std::string& path);

// Reads a token from --token-file (whole file, trailing newline dropped) or --token-env.
// Reports C741 and returns nullopt on failure. The token never appears in any message.
std::optional<std::string> read_token_option(std::string_view command, const std::string& file,
                                             const std::string& env);

// "admin:<login>" from $USER, else from the account the process runs as, unless --actor was given.
std::string actor_or_default(const std::string& actor);

// After a sync run outside the scheduler: next run in `interval_s` seconds unless paused.
void schedule_next(sync::Store& store, std::int64_t integration_id, std::int64_t interval_s);

// Unix seconds now.
std::int64_t unix_now();
// "2025-06-10T08:14:09Z" or "never".
std::string when(const std::optional<std::int64_t>& t);

// Accepts RFC 3339 or a relative age like `30m`, `24h`, `7d` (before now).
std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now);

}  // namespace postern::app
