// Policy operations: validate, replace (stored, audited, swapped), history.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tailnet_impl.hpp"

namespace postern::control {

using grammar::DiagCode;

PolicyVerdict judge_policy(std::string path, std::string text, const engine::Inventory* inventory,
                           std::int64_t now) {
  PolicyVerdict verdict;
  verdict.loaded = engine::load_policy(
      std::move(path), std::move(text),
      inventory != nullptr ? engine::validate_context(*inventory) : engine::ValidateContext{});
  if (verdict.loaded.ok()) {
    verdict.tests = engine::run_policy_tests(verdict.loaded.file, *verdict.loaded.ast, inventory,
                                             engine::CompileOptions{now});
  }
  return verdict;
}

PolicyVerdict Tailnet::validate_policy(std::string text, std::string path) const {
  const auto inventory = effective_inventory();
  return judge_policy(std::move(path), std::move(text), inventory.get(), now());
}

Outcome<PolicyState> Tailnet::replace_policy(std::string text, const Actor& actor,
                                             std::optional<std::int64_t> expected_version,
                                             PolicyVerdict* verdict_out) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.writer);
  const PolicyState current = policy();
  if (expected_version && *expected_version != current.version) {
    return Error{ErrorKind::Precondition, DiagCode::K812,
                 "the policy file was changed by someone else since you read it",
                 "reload it, reapply your change and save again"};
  }
  // The text in force, saved again (a GitOps push of an unchanged file): no new version, audit
  // event or compile, as a policy file's unchanged text at start (decisions C3).
  if (store_ && current.version != 0 && current.text == text) return current;
  const std::string path = "policy.hujson";
  const auto inventory = impl.effective_inventory();
  PolicyVerdict verdict = judge_policy(path, text, inventory.get(), now());
  if (!verdict.accepted()) {
    const bool syntax_or_shape = !verdict.loaded.ok();
    Error error =
        invalid(syntax_or_shape ? DiagCode::K810 : DiagCode::K811,
                syntax_or_shape ? render_diagnostics(verdict.loaded.file, verdict.loaded.diags)
                                : std::string("test(s) failed"));
    if (verdict_out != nullptr) *verdict_out = std::move(verdict);
    return error;
  }
  PolicyState next{path, text, current.version, false, 0, 0};
  if (store_) {
    const nlohmann::json details = {{"oldVersion", current.version}, {"bytes", text.size()}};
    auto saved = store_->save_policy(
        store::PolicyVersion{0, now(), actor.name, actor.origin, text},
        sync::AuditEvent{0, now(), actor.name, "policy", std::string(sync::kActionPolicy),
                         details.dump(), actor.origin},
        current.version);
    if (!saved) {
      if (saved.error().kind == sync::SyncErrorKind::Discarded) {
        return Error{ErrorKind::Precondition, DiagCode::K812, saved.error().message,
                     "reload it, reapply your change and save again"};
      }
      return from_sync(saved.error());
    }
    next.version = saved.value().id;
  } else {
    next.version = current.version + 1;
  }
  impl.install(impl.base, inventory, verdict.loaded, std::move(next));
  impl.log(LogLevel::info,
           fmt::format("{} replaced the policy: version {}", actor.name, impl.policy.version));
  return policy();
}

Outcome<std::vector<store::PolicyVersion>> Tailnet::policy_history(std::size_t limit) const {
  if (!store_) {
    return Error{ErrorKind::NotFound, DiagCode::K821, "no store: policy history is not kept",
                 "run with --db FILE"};
  }
  auto history = store_->policy_history(limit);
  if (!history) return from_sync(history.error());
  return std::move(history.value());
}

}  // namespace postern::control
