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

namespace {

Error changed_meanwhile(std::string message) {
  return Error{ErrorKind::Precondition, DiagCode::K812, std::move(message),
               "reload it, reapply your change and save again"};
}

// Why a save cannot go ahead over `current`: an `If-Match` it no longer meets.
std::optional<Error> refuse_stale(const PolicyState& current,
                                  std::optional<std::int64_t> expected_version) {
  if (!expected_version || *expected_version == current.version) return std::nullopt;
  return changed_meanwhile("the policy file was changed by someone else since you read it");
}

Error refused_policy(PolicyVerdict& verdict, PolicyVerdict* verdict_out) {
  const bool syntax_or_shape = !verdict.loaded.ok();
  Error error =
      invalid(syntax_or_shape ? DiagCode::K810 : DiagCode::K811,
              syntax_or_shape ? render_diagnostics(verdict.loaded.file, verdict.loaded.diags)
                              : std::string("test(s) failed"));
  if (verdict_out != nullptr) *verdict_out = std::move(verdict);
  return error;
}

}  // namespace

// The attribute writes a policy compiled outside the writer lock must replay: registered and
// released with the writer held; a reader that leaves early releases itself.
class Tailnet::Impl::WriteLogReader {
 public:
  explicit WriteLogReader(Impl& impl) : impl_(impl), from_(impl.write_batches_applied) {
    impl_.write_log_readers.insert(from_);
  }
  ~WriteLogReader() {
    if (!active_) return;
    std::lock_guard lock(impl_.writer);
    release_locked();
  }
  WriteLogReader(const WriteLogReader&) = delete;
  WriteLogReader& operator=(const WriteLogReader&) = delete;
  [[nodiscard]] std::uint64_t from() const { return from_; }
  void release_locked() {
    if (!std::exchange(active_, false)) return;
    auto& readers = impl_.write_log_readers;
    readers.erase(readers.find(from_));
    // Saves that keep overlapping would otherwise keep every write they ever overlapped.
    auto& log = impl_.write_log;
    while (!log.empty() && (readers.empty() || log.front().first <= *readers.begin())) {
      log.pop_front();
    }
  }

 private:
  Impl& impl_;
  std::uint64_t from_;
  bool active_ = true;
};

Outcome<PolicyState> Tailnet::replace_policy(std::string text, const Actor& actor,
                                             std::optional<std::int64_t> expected_version,
                                             PolicyVerdict* verdict_out) {
  auto& impl = *impl_;
  const std::string path = "policy.hujson";
  // Judged and compiled outside the writer lock, which every attribute write takes (a large
  // policy compiles for a second): against the inventory as it is now, with the attribute
  // writes applied meanwhile replayed onto it at the swap (decisions H45).
  std::shared_ptr<const engine::Inventory> inventory;
  std::shared_ptr<const engine::Inventory> base;
  std::optional<Impl::WriteLogReader> log;
  {
    std::lock_guard lock(impl.writer);
    const PolicyState current = policy();
    if (auto stale = refuse_stale(current, expected_version)) return *stale;
    // The text in force, saved again (a GitOps push of an unchanged file): no new version, audit
    // event or compile, as a policy file's unchanged text at start (decisions C3).
    if (store_ && current.version != 0 && current.text == text) return current;
    inventory = impl.effective_inventory();
    base = impl.base;
    log.emplace(impl);
  }
  PolicyVerdict verdict = judge_policy(path, text, inventory.get(), now());
  if (!verdict.accepted()) return refused_policy(verdict, verdict_out);
  auto prepared = engine::Engine::prepare(verdict.loaded.file, *verdict.loaded.ast, inventory,
                                          engine::CompileOptions{now()});
  impl.log(LogLevel::debug, "policy judged and compiled; installing it");

  std::lock_guard lock(impl.writer);
  const PolicyState current = policy();
  if (auto stale = refuse_stale(current, expected_version)) return *stale;
  if (store_ && current.version != 0 && current.text == text) return current;
  if (impl.base != base) {
    // The inventory file was reloaded meanwhile: judged and compiled again over the new one.
    inventory = impl.effective_inventory();
    verdict = judge_policy(path, text, inventory.get(), now());
    if (!verdict.accepted()) return refused_policy(verdict, verdict_out);
    prepared = engine::Engine::prepare(verdict.loaded.file, *verdict.loaded.ast, inventory,
                                       engine::CompileOptions{now()});
    log->release_locked();
    log.emplace(impl);  // nothing to replay: compiled over the overlay as it is now
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
        return changed_meanwhile(saved.error().message);
      }
      return from_sync(saved.error());
    }
    next.version = saved.value().id;
  } else {
    next.version = current.version + 1;
  }
  impl.install_prepared(std::move(prepared), std::move(next), log->from());
  log->release_locked();
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
