#pragma once
// The one way every command reads a policy file: bytes -> SourceFile -> hujson::parse ->
// policy::lower -> engine::validate, keeping every diagnostic; plus text/JSON rendering.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/engine/validate.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::app {

struct LoadedPolicy {
  grammar::SourceFile file{"", ""};
  // Set when the file was read and is valid HuJSON. It is best effort when there are errors
  // (entries with shape errors left out): use it only when ok().
  std::optional<grammar::policy::Ast> ast;
  std::vector<grammar::Diagnostic> diags;  // syntax, shape and validation; errors and warnings
  std::optional<std::string> io_error;     // the file could not be read (exit 2)

  // Read, parsed, lowered and validated without errors (warnings allowed).
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::size_t error_count() const;
  [[nodiscard]] std::size_t warning_count() const;
};

// Read `path` and run every stage. All stages run as far as possible so that one run reports
// every problem: validation also runs after shape errors (on the best-effort AST).
LoadedPolicy load_policy(const std::string& path, const engine::ValidateContext& context = {});
// Same, for text already in memory (`path` is used in messages only).
LoadedPolicy load_policy_text(std::string path, std::string text,
                              const engine::ValidateContext& context = {});

// `user:*@<domain>` checks need the tailnet's domains: those of its (non-shared) users.
engine::ValidateContext validate_context(const engine::Inventory& inventory);

// `path:line:col: error[CODE]: message`, source line, underline, help (design.md §5).
std::string render_text(const grammar::SourceFile& file,
                        const std::vector<grammar::Diagnostic>& diags);
// One object per diagnostic: {"file","line","column","severity","code","message","help"}, plus
// "end_line"/"end_column" and "related" labels.
nlohmann::json diagnostic_json(const grammar::SourceFile& file, const grammar::Diagnostic& diag);
nlohmann::json diagnostics_json(const grammar::SourceFile& file,
                                const std::vector<grammar::Diagnostic>& diags);

}  // namespace postern::app
