#pragma once
// Policy text → HuJSON → AST → validation, as the CLI runs it, for engine tests.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/engine/validate.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::test {

struct LoadedPolicy {
  std::unique_ptr<grammar::SourceFile> file;  // stable address: the AST's spans point into it
  std::optional<grammar::policy::Ast> ast;    // set when every stage succeeded without errors
  std::vector<grammar::Diagnostic> diags;     // every diagnostic of every stage that ran

  [[nodiscard]] bool ok() const { return ast.has_value(); }
  [[nodiscard]] std::string rendered() const;  // all diagnostics, rendered
};

LoadedPolicy load_policy(std::string path, std::string text,
                         const engine::ValidateContext& context = {});

// The ValidateContext a `--tailnet` run would use: the domains of the inventory's users.
engine::ValidateContext context_for(const engine::Inventory& inventory);

}  // namespace postern::test
