// The policy-loading pipeline shared by the CLI, the server, tests, benchmarks and fuzzers.
#include "postern/engine/policy_load.hpp"

#include <algorithm>
#include <utility>

#include "postern/engine/validate.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::engine {
namespace {

std::size_t count_severity(const std::vector<grammar::Diagnostic>& diags,
                           grammar::Severity severity) {
  return static_cast<std::size_t>(std::count_if(
      diags.begin(), diags.end(), [&](const auto& d) { return d.severity == severity; }));
}

template <typename Diags>
void append(std::vector<grammar::Diagnostic>& out, Diags&& more) {
  out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

}  // namespace

bool LoadedPolicy::ok() const { return ast.has_value() && error_count() == 0; }

std::size_t LoadedPolicy::error_count() const {
  return count_severity(diags, grammar::Severity::Error);
}

std::size_t LoadedPolicy::warning_count() const {
  return count_severity(diags, grammar::Severity::Warning);
}

LoadedPolicy load_policy(std::string path, std::string text, const ValidateContext& context) {
  LoadedPolicy loaded;
  loaded.file = grammar::SourceFile(std::move(path), std::move(text));
  auto doc = grammar::hujson::parse(loaded.file);
  loaded.diags = std::move(doc.diags);
  if (!doc.value) return loaded;
  auto lowered = grammar::policy::lower_all(loaded.file, *doc.value);
  append(loaded.diags, std::move(lowered.diags));
  append(loaded.diags, validate(loaded.file, lowered.ast, context));
  loaded.ast = std::move(lowered.ast);
  return loaded;
}

// The tailnet's own domains (owners' domains, else the most common member domain): one rule,
// make_validate_context, for every caller.
ValidateContext validate_context(const Inventory& inventory) {
  return make_validate_context(inventory);
}

}  // namespace postern::engine
