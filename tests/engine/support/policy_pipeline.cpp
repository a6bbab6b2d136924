#include "policy_pipeline.hpp"

#include <algorithm>

#include "postern/grammar/hujson.hpp"

namespace postern::test {

std::string LoadedPolicy::rendered() const {
  return file ? grammar::render_all(*file, diags) : std::string();
}

LoadedPolicy load_policy(std::string path, std::string text,
                         const engine::ValidateContext& context) {
  LoadedPolicy out;
  out.file = std::make_unique<grammar::SourceFile>(std::move(path), std::move(text));
  auto doc = grammar::hujson::parse(*out.file);
  out.diags = doc.diags;
  if (!doc.value || doc.has_errors()) return out;
  auto lowered = grammar::policy::lower(*out.file, *doc.value);
  out.diags.insert(out.diags.end(), lowered.diags.begin(), lowered.diags.end());
  if (!lowered.value || lowered.has_errors()) return out;
  auto checked = engine::validate(*out.file, *lowered.value, context);
  const bool failed = std::any_of(checked.begin(), checked.end(), [](const auto& d) {
    return d.severity == grammar::Severity::Error;
  });
  out.diags.insert(out.diags.end(), checked.begin(), checked.end());
  if (!failed) out.ast = std::move(*lowered.value);
  return out;
}

engine::ValidateContext context_for(const engine::Inventory& inventory) {
  engine::ValidateContext context;
  context.domains_known = true;
  for (const auto& user : inventory.users) {
    const auto at = user.login.rfind('@');
    if (at == std::string::npos || user.shared) continue;
    const auto domain = user.login.substr(at + 1);
    if (std::find(context.user_domains.begin(), context.user_domains.end(), domain) ==
        context.user_domains.end()) {
      context.user_domains.push_back(domain);
    }
  }
  return context;
}

}  // namespace postern::test
