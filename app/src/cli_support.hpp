#pragma once
// What every subcommand shares: reporting a control-layer error, opening the tailnet, reading a
// token option, and the text forms of times and diagnostics. Formatting only: no rules.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/control/tailnet.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {

// `postern <cmd>: error[CODE]: message` (+ `  help: ...`) on stderr.
void print_error(std::string_view command, const control::Error& error);
// The exit status for an error: 2 for wrong input (invalid, or a name that does not exist), 1
// otherwise.
int exit_code_for(const control::Error& error);

// The help texts of the options every store- or inventory-reading command takes.
inline constexpr const char* kDbHelp =
    "The store: an SQLite file (default postern.db) or a postgresql:// URL";
inline constexpr const char* kTailnetHelp = "Tailnet inventory (docs/inventory.md)";

// Opens the tailnet or prints why not (nullptr).
std::unique_ptr<control::Tailnet> open_tailnet(std::string_view command,
                                               control::TailnetOptions options);

// Reads a token from --token-file (whole file, trailing newline dropped) or --token-env.
// Prints C741 and returns nullopt on failure. The token never appears in any message.
std::optional<std::string> read_token_option(std::string_view command, const std::string& file,
                                             const std::string& env);

// The actor for this process's changes: --actor, else admin:$USER.
control::Actor cli_actor(const std::string& actor_option);

// "2025-06-10T08:14:09Z" or "never".
std::string when(const std::optional<std::int64_t>& t);
// RFC 3339 or a relative age like `30m`, `24h`, `7d` (before now).
std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now);

// A policy file read and run through engine::load_policy; `io_error` when it cannot be read.
struct PolicyFile {
  engine::LoadedPolicy loaded;
  std::optional<std::string> io_error;
};
PolicyFile read_policy_file(const std::string& path, const engine::ValidateContext& context);

// `path:line:col: error[CODE]: message`, source line, underline, help (design.md §5).
std::string render_text(const grammar::SourceFile& file,
                        const std::vector<grammar::Diagnostic>& diags);
// One object per diagnostic: {"file","line","column","end_line","end_column","severity","code",
// "message","help","related"}.
nlohmann::json diagnostics_json(const grammar::SourceFile& file,
                                const std::vector<grammar::Diagnostic>& diags);

}  // namespace postern::app
