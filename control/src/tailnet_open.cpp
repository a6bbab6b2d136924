// Opening the tailnet, loading and reloading its files, and installing a compiled policy.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <system_error>

#include "postern/control/overlay.hpp"
#include "postern/control/text_file.hpp"
#include "postern/sync/matcher.hpp"
#include "tailnet_impl.hpp"

namespace postern::control {

using grammar::DiagCode;

const std::string_view kDefaultPolicy = R"({
	// The default policy: every device of the tailnet may reach every other one.
	// Replace it with your own (postern serve --policy FILE, or the policy file API).
	"acls": [
		{"action": "accept", "src": ["*"], "dst": ["*:*"]},
	],
}
)";

std::optional<FileStamp> stamp_of(const std::string& path) {
  std::error_code ec;
  FileStamp s;
  s.mtime = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  s.size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return s;
}

std::string render_diagnostics(const grammar::SourceFile& file,
                               const std::vector<grammar::Diagnostic>& diags) {
  return grammar::render_all(file, diags);
}

Outcome<engine::Inventory> load_inventory_file(const std::string& path) {
  auto text =
      read_text_file(path, "tailnet inventory", kMaxInventoryFileBytes, engine::kInventoryPadding);
  if (!text) return text.error();
  auto result = engine::load_inventory_in_place(text.value());
  std::string().swap(text.value());  // before the inventory is handed on: the text is as large
  if (!result.inventory) {
    std::string message = fmt::format("tailnet inventory `{}` is invalid:", path);
    for (const auto& e : result.errors) {
      message +=
          fmt::format("\n{}: {}{}", path, e.json_path.empty() ? "" : e.json_path + ": ", e.message);
    }
    return invalid(DiagCode::C702, std::move(message));
  }
  return std::move(*result.inventory);
}

Outcome<engine::LoadedPolicy> accept_policy(const std::string& path, std::string text,
                                            const engine::Inventory& inventory, std::int64_t now) {
  auto verdict = judge_policy(path, std::move(text), &inventory, now);
  if (!verdict.loaded.ok()) {
    return invalid(DiagCode::K810,
                   fmt::format("policy `{}` is invalid\n{}", path,
                               render_diagnostics(verdict.loaded.file, verdict.loaded.diags)));
  }
  // Tailscale refuses to save a policy whose tests fail; so does Postern.
  if (!verdict.tests->passed) {
    return invalid(DiagCode::K811, fmt::format("policy `{}`: test(s) failed\n{}", path,
                                               render_diagnostics(verdict.loaded.file,
                                                                  verdict.tests->diagnostics)));
  }
  return std::move(verdict.loaded);
}

Outcome<LoadedFiles> load_files(const TailnetOptions& options) {
  LoadedFiles out;
  // Stamp before reading: a write in between is seen as a change at the next poll.
  if (options.policy_path) out.policy_stamp = stamp_of(*options.policy_path);
  if (options.tailnet_path) {
    out.tailnet_stamp = stamp_of(*options.tailnet_path);
    auto inventory = load_inventory_file(*options.tailnet_path);
    if (!inventory) return inventory.error();
    out.inventory = std::make_shared<const engine::Inventory>(std::move(inventory.value()));
  }
  if (options.policy_path) {
    auto text = read_text_file(*options.policy_path, "policy", kMaxPolicyFileBytes);
    if (!text) return text.error();
    out.policy_text = std::move(text.value());
  }
  return out;
}

void Tailnet::Impl::log(LogLevel level, const std::string& line) const {
  if (self.options_.log) self.options_.log(level, line);
}

std::shared_ptr<const engine::Inventory> with_overlay(std::shared_ptr<const engine::Inventory> base,
                                                      const sync::AttributeTable& overlay) {
  if (overlay.empty()) return base;
  auto effective = std::make_shared<engine::Inventory>(*base);
  apply_overlay(*effective, overlay);
  return effective;
}

std::shared_ptr<const engine::Inventory> Tailnet::Impl::effective_inventory() const {
  return with_overlay(base, overlay);
}

void Tailnet::Impl::install(std::shared_ptr<const engine::Inventory> inventory,
                            std::shared_ptr<const engine::Inventory> effective,
                            const engine::LoadedPolicy& loaded, PolicyState state) {
  base = std::move(inventory);
  const auto now = self.now();
  if (!engine) {
    engine =
        engine::Engine::compile(loaded.file, *loaded.ast, effective, engine::CompileOptions{now});
  } else {
    engine->reload(loaded.file, *loaded.ast, effective, engine::CompileOptions{now});
  }
  serve_policy_state(std::move(state), now);
}

void Tailnet::Impl::serve_policy_state(PolicyState state, std::int64_t loaded_at) {
  std::lock_guard lock(policy_mu);
  state.loaded_at = loaded_at;
  state.generation = policy.generation + 1;
  policy = std::move(state);
}

void Tailnet::Impl::install_prepared(engine::PreparedReload prepared, PolicyState state,
                                     std::uint64_t log_from) {
  // Resolved on the snapshot in force: over the same inventory, the same device indices.
  std::vector<EngineChanges> changes;
  for (const auto& [batch, writes] : write_log) {
    if (batch > log_from) changes.push_back(engine_changes(writes));
  }
  std::vector<std::vector<engine::DeviceChanges>> replay;
  for (const auto& c : changes) {
    if (!c.empty()) replay.push_back(as_batch(c));
  }
  if (const auto installed = engine->install(std::move(prepared), replay, self.now());
      !installed.ok) {
    log(LogLevel::error,
        fmt::format("cannot apply attributes written during the policy's compile: {}",
                    installed.error));
  }
  serve_policy_state(std::move(state), self.now());
}

void Tailnet::Impl::install_stored_policy(std::int64_t version, const std::string& text) {
  const std::string path = "policy.hujson";
  const auto effective = effective_inventory();
  auto loaded = engine::load_policy(path, text, engine::validate_context(*effective));
  if (!loaded.ok()) {
    log(LogLevel::error,
        fmt::format("policy version {} saved by another replica does not load here; still "
                    "serving version {}:\n{}",
                    version, policy.version, render_diagnostics(loaded.file, loaded.diags)));
    return;
  }
  install(base, effective, loaded, PolicyState{path, text, version, false, 0, 0});
  log(LogLevel::info, fmt::format("installed policy version {} saved by another replica", version));
}

void Tailnet::Impl::publish(const std::vector<sync::AttributeWrite>& writes) {
  if (replicator && replicator->catch_up_locked()) return;
  if (replicator) log(LogLevel::error, "cannot read the change log; applying this change directly");
  apply_writes(writes);
}

std::optional<engine::AttrChange> Tailnet::Impl::file_value(engine::DeviceIndex device,
                                                            const std::string& key) const {
  if (device >= base->devices.size()) return std::nullopt;
  const auto& d = base->devices[device];
  const auto it = d.attributes.find(key);
  if (it == d.attributes.end()) return std::nullopt;
  const auto exp = d.expiries.find(key);
  return engine::AttrChange::set(
      key, it->second,
      exp == d.expiries.end() ? std::nullopt : std::optional<std::int64_t>(exp->second));
}

// From the inventory file itself, so each node carries the file's own attribute values (the
// sync masks a provider key the file gives and the provider no longer vouches for).
std::vector<sync::TailnetNode> Tailnet::Impl::nodes() {
  std::shared_ptr<const engine::Inventory> file;
  {
    std::lock_guard lock(writer);
    file = base;
  }
  return sync::tailnet_nodes(*file);
}

Tailnet::Tailnet(TailnetOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(*this)) {
  if (options_.clock == nullptr) {
    own_clock_ = std::make_unique<sync::SystemClock>();
    clock_ = own_clock_.get();
  } else {
    clock_ = options_.clock;
  }
}

Tailnet::~Tailnet() {
  impl_->stop_committer();  // commits what is queued and tells its waiters
  stop_syncing();
}

std::int64_t Tailnet::now() const { return sync::to_unix(clock_->now()); }

std::shared_ptr<const engine::Snapshot> Tailnet::snapshot() const noexcept {
  return impl_->engine->snapshot();
}

// The overlay is copied under the lock, the inventory outside it: a copy of a large inventory
// must not hold up attribute writes.
std::shared_ptr<const engine::Inventory> Tailnet::effective_inventory() const {
  std::shared_ptr<const engine::Inventory> base;
  sync::AttributeTable overlay;
  {
    std::lock_guard lock(impl_->writer);
    base = impl_->base;
    overlay = impl_->overlay;
  }
  return with_overlay(std::move(base), overlay);
}

PolicyState Tailnet::policy() const {
  std::lock_guard lock(impl_->policy_mu);
  return impl_->policy;
}

namespace {

Outcome<std::unique_ptr<store::Store>> open_store(const TailnetOptions& options) {
  std::error_code ec;
  const std::string db = options.db->string();
  if (store::is_postgres_keywords(db)) {
    // Not quoted: such a string often carries `password=`.
    return invalid(DiagCode::C743,
                   "--db looks like a PostgreSQL keyword/value connection string; Postern takes "
                   "PostgreSQL as a URL",
                   "give --db postgresql://USER@HOST:PORT/DBNAME and the password in PGPASSWORD "
                   "or ~/.pgpass (a file whose name starts with a keyword: write it as ./NAME)");
  }
  if (!options.create_db && !store::is_postgres_url(db) && !std::filesystem::exists(db, ec)) {
    return not_found(DiagCode::C743, fmt::format("no store at `{}`", options.db->string()),
                     "give the --db that `postern integrations` or `postern serve` used");
  }
  auto opened = store::open_store(db);
  if (!opened) {
    return Error{ErrorKind::Unavailable,
                 DiagCode::C743,
                 fmt::format("cannot open the store: {}", opened.error().message),
                 {}};
  }
  return std::move(opened.value());
}

// The policy file's `text` stored as the current version unless it already is (at start, and
// when a reload finds the file changed). Conditional on the `current` version this server knows,
// so replicas that read one file together store it once: whoever loses the race re-reads, and
// stores only if the winner's text differs from its own. `details`: the audit event's.
Outcome<std::int64_t> store_policy_file(store::Store& store,
                                        std::optional<store::PolicyVersion> current,
                                        const std::string& text, const std::string& details,
                                        std::int64_t now) {
  constexpr int kAttempts = 5;
  const auto actor = local_admin(kOriginFile);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (current && current->text == text) return current->id;
    auto saved =
        store.save_policy(store::PolicyVersion{0, now, actor.name, actor.origin, text},
                          sync::AuditEvent{0, now, actor.name, "policy",
                                           std::string(sync::kActionPolicy), details, actor.origin},
                          current ? current->id : 0);
    if (saved) return saved.value().id;
    if (saved.error().kind != sync::SyncErrorKind::Discarded) return from_sync(saved.error());
    auto reread = store.current_policy();
    if (!reread) return from_sync(reread.error());
    current = reread.value();
  }
  return Error{ErrorKind::Unavailable,
               DiagCode::C743,
               "other servers keep storing other policies; cannot store the policy file",
               {}};
}

// Whether the policy file says something the store has not taken from it: true unless the
// newest version stored from the file has the same text. Then a version saved since through
// the API or console stays served across restarts (README: the file seeds the store).
Outcome<bool> policy_file_is_news(store::Store& store, const TailnetOptions& options,
                                  const LoadedFiles& files,
                                  const std::optional<store::PolicyVersion>& stored) {
  if (!files.policy_text || !options.store_policy_file || !stored) return true;
  if (stored->text == *files.policy_text) return true;  // served as is either way
  auto from_file = store.last_policy_from(kOriginFile);
  if (!from_file) return from_sync(from_file.error());
  return !from_file.value() || from_file.value()->text != *files.policy_text;
}

}  // namespace

Outcome<std::unique_ptr<Tailnet>> Tailnet::open(TailnetOptions options) {
  std::unique_ptr<Tailnet> tailnet(new Tailnet(std::move(options)));
  const auto& opts = tailnet->options_;
  auto& impl = *tailnet->impl_;
  if (opts.db) {
    auto store = open_store(opts);
    if (!store) return store.error();
    tailnet->store_ = std::move(store.value());
    if (opts.sole_server && !tailnet->store_->shared()) {
      auto lock = ServerLock::take(*opts.db);
      if (auto* refused = std::get_if<std::string>(&lock)) {
        return Error{ErrorKind::Unavailable, DiagCode::C774, *refused,
                     "run one server per SQLite store (the CLI's commands may run beside it), or "
                     "share a postgresql:// store among several servers (docs/deploy.md)"};
      }
      impl.server_lock.emplace(std::move(std::get<ServerLock>(lock)));
    }
    if (tailnet->store_->shared()) {
      // Subscribe before loading anything, so no change falls between the load and the feed.
      impl.replicator = std::make_unique<Replicator>(impl, opts.db->string(), opts.replica_retry);
      if (auto subscribed = impl.replicator->subscribe(); !subscribed) {
        return subscribed.error();
      }
    }
    auto table = tailnet->store_->load_attributes();
    if (!table) return from_sync(table.error());
    impl.overlay = std::move(table.value());
  }
  auto files = load_files(opts);
  if (!files) return files.error();
  auto& loaded_files = files.value();

  // Which policy serves: the file when it is given and says something new since it was last
  // stored (stored as a new version), else the store's current version, else the default.
  std::optional<store::PolicyVersion> stored;
  bool file_is_news = true;
  if (tailnet->store_) {
    auto current = tailnet->store_->current_policy();
    if (!current) return from_sync(current.error());
    stored = current.value();
    auto news = policy_file_is_news(*tailnet->store_, opts, loaded_files, stored);
    if (!news) return news.error();
    file_is_news = news.value();
  }
  std::string text;
  std::string path;
  if (loaded_files.policy_text && !file_is_news) {
    impl.log(LogLevel::info,
             fmt::format("the policy file is unchanged since it was stored; serving version {}, "
                         "saved since through the API or console (edit the file to replace it)",
                         stored->id));
  }
  if (loaded_files.policy_text && file_is_news) {
    text = *loaded_files.policy_text;
    path = *opts.policy_path;
  } else if (stored) {
    text = stored->text;
    path = "policy.hujson";
  } else {
    text = std::string(kDefaultPolicy);
    path = "policy.hujson";
  }
  auto effective = with_overlay(loaded_files.inventory, impl.overlay);
  auto accepted = accept_policy(path, text, *effective, tailnet->now());
  if (!accepted) return accepted.error();
  PolicyState state{path, text, stored ? stored->id : 0, false, 0, 0};
  state.is_default = !loaded_files.policy_text && !stored;
  const bool seed = loaded_files.policy_text && file_is_news && opts.store_policy_file &&
                    tailnet->store_ && (!stored || stored->text != text);
  if (seed) {
    const auto details =
        nlohmann::json{{"file", std::filesystem::path(path).filename().string()}}.dump();
    auto version = store_policy_file(*tailnet->store_, stored, text, details, tailnet->now());
    if (!version) return version.error();
    state.version = version.value();
  }
  std::lock_guard lock(impl.writer);
  impl.tailnet_stamp = loaded_files.tailnet_stamp;
  impl.policy_stamp = loaded_files.policy_stamp;
  impl.policy_file_text = loaded_files.policy_text;
  impl.install(std::move(loaded_files.inventory), std::move(effective), accepted.value(),
               std::move(state));
  if (impl.replicator) {
    // Changes committed while we loaded: replayed over what was read (they are idempotent).
    if (!impl.replicator->catch_up_locked()) {
      return Error{ErrorKind::Unavailable,
                   DiagCode::C743,
                   "cannot read the change log of the shared store",
                   {}};
    }
    impl.replicator->start_following();
  }
  return tailnet;
}

ReloadOutcome Tailnet::reload_files(bool force, std::string* error) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.writer);
  const auto tailnet_now =
      options_.tailnet_path ? stamp_of(*options_.tailnet_path) : std::optional<FileStamp>{};
  const auto policy_now =
      options_.policy_path ? stamp_of(*options_.policy_path) : std::optional<FileStamp>{};
  if (!force && tailnet_now == impl.tailnet_stamp && policy_now == impl.policy_stamp) {
    return ReloadOutcome::Unchanged;
  }
  bool policy_file_changed = options_.policy_path && policy_now != impl.policy_stamp;
  // Remember what was seen so the same bad file is reported once, not at every poll.
  impl.tailnet_stamp = tailnet_now;
  impl.policy_stamp = policy_now;
  auto reject = [&](const Error& e) {
    impl.log(LogLevel::error, fmt::format("reload rejected; still serving policy version {}: {}",
                                          impl.policy.version, e.message));
    if (error != nullptr) *error = e.message;
    return ReloadOutcome::Rejected;
  };
  auto files = load_files(options_);
  if (!files) return reject(files.error());
  // A new stamp with the same text (touched, copied over unchanged) is no change: it must not
  // undo a policy saved through the API since.
  if (policy_file_changed && files.value().policy_text == impl.policy_file_text) {
    policy_file_changed = false;
  }
  impl.policy_file_text = files.value().policy_text;
  PolicyState state = policy();
  // A changed policy file replaces the served policy; otherwise the served one is recompiled
  // against the new inventory (the API may have changed it since the file was read).
  if (policy_file_changed || (force && files.value().policy_text && !store_)) {
    state.text = *files.value().policy_text;
    state.path = *options_.policy_path;
  }
  auto effective = with_overlay(files.value().inventory, impl.overlay);
  auto accepted = accept_policy(state.path, state.text, *effective, now());
  if (!accepted) return reject(accepted.error());
  if (store_ && state.text != policy().text && options_.store_policy_file) {
    const auto served = policy();
    std::optional<store::PolicyVersion> current;
    if (served.version > 0) current = store::PolicyVersion{served.version, 0, {}, {}, served.text};
    auto version = store_policy_file(*store_, current, state.text,
                                     R"({"reason":"the policy file changed"})", now());
    if (!version) return reject(version.error());
    state.version = version.value();
  }
  impl.install(std::move(files.value().inventory), std::move(effective), accepted.value(),
               std::move(state));
  impl.log(LogLevel::info, fmt::format("reloaded: policy version {}, {} devices",
                                       impl.policy.version, impl.base->devices.size()));
  return ReloadOutcome::Reloaded;
}

}  // namespace postern::control
