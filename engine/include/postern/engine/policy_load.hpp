#pragma once
// The one policy-loading pipeline (issue 7 item 4): text -> SourceFile -> hujson::parse ->
// policy::lower_all -> engine::validate, keeping every diagnostic of every stage. Pure: the
// caller reads the file (and reports its own I/O errors).
//
//   auto loaded = engine::load_policy("policy.hujson", text, engine::validate_context(inv));
//   if (loaded.ok()) engine = Engine::compile(loaded.file, *loaded.ast, inv, {.now = now});

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/engine/validate.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::engine {

struct LoadedPolicy {
  grammar::SourceFile file{"", ""};
  // Set when the text is valid HuJSON. Best effort when there are errors (entries with shape
  // errors left out): compile it only when ok().
  std::optional<grammar::policy::Ast> ast;
  std::vector<grammar::Diagnostic> diags;  // syntax, shape and validation; errors and warnings

  // Parsed, lowered and validated without errors (warnings allowed).
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::size_t error_count() const;
  [[nodiscard]] std::size_t warning_count() const;
};

// Every stage runs as far as it can so one run reports every problem: validation also runs after
// shape errors, on the best-effort AST. Only a syntax error stops the pipeline. `path` names the
// file in diagnostics.
LoadedPolicy load_policy(std::string path, std::string text, const ValidateContext& context = {});

// What `user:*@<domain>` checks need from the tailnet: the domains of its non-shared users.
ValidateContext validate_context(const Inventory& inventory);

}  // namespace postern::engine
