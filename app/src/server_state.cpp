#include "server_state.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "decision_json.hpp"
#include "policy_loading.hpp"
#include "postern/sync/clock.hpp"
#include "postern/sync/overlay.hpp"
#include "postern/sync/sync_engine.hpp"
#include "server_attributes.hpp"

namespace postern::server {
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

bool same_attribute(const sync::StoredAttribute& a, const sync::StoredAttribute& b) {
  return a.value == b.value && a.expires_at == b.expires_at;
}

bool is_builtin(std::string_view key) { return key.substr(0, 5) == "node:"; }

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct LiveState::Loaded {
  app::LoadedPolicy policy;
  engine::Inventory inventory;
  std::optional<FileStamp> policy_stamp;
  std::optional<FileStamp> tailnet_stamp;
};

LiveState::LiveState(ServerPaths paths, Log& log) : paths_(std::move(paths)), log_(log) {}
LiveState::~LiveState() = default;

std::unique_ptr<LiveState> LiveState::open(ServerPaths paths, Log& log, std::string& errors) {
  std::unique_ptr<LiveState> state(new LiveState(std::move(paths), log));
  if (state->paths_.db) {
    auto store = sync::open_sqlite_store(*state->paths_.db);
    if (!store) {
      errors += "error[C743]: cannot open the attribute store `" + state->paths_.db->string() +
                "`: " + store.error().message + "\n";
      return nullptr;
    }
    state->store_ = std::move(store.value());
  }
  auto loaded = state->load_files(errors);
  if (!loaded) return nullptr;
  std::lock_guard lock(state->writer_);
  state->install(std::move(*loaded));
  return state;
}

std::shared_ptr<const View> LiveState::view() const noexcept {
  std::lock_guard lock(view_mu_);
  return view_;
}

std::optional<LiveState::FileStamp> LiveState::stamp(const std::string& path) const {
  std::error_code ec;
  FileStamp s;
  s.mtime = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  s.size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return s;
}

std::optional<LiveState::Loaded> LiveState::load_files(std::string& errors) const {
  Loaded out;
  // Stamp before reading: a write in between is seen as a change at the next poll.
  out.tailnet_stamp = stamp(paths_.tailnet);
  out.policy_stamp = stamp(paths_.policy);
  const auto text = read_text(paths_.tailnet);
  if (!text) {
    errors += "error[C701]: cannot read tailnet inventory `" + paths_.tailnet + "`\n";
    return std::nullopt;
  }
  auto inventory = engine::load_inventory(*text);
  if (!inventory.inventory) {
    for (const auto& e : inventory.errors) {
      errors += paths_.tailnet +
                ": error[C702]: " + (e.json_path.empty() ? "" : e.json_path + ": ") + e.message +
                "\n";
    }
    return std::nullopt;
  }
  out.inventory = std::move(*inventory.inventory);
  out.policy = app::load_policy(paths_.policy, app::validate_context(out.inventory));
  if (out.policy.io_error) {
    errors += "error[C701]: " + *out.policy.io_error + "\n";
    return std::nullopt;
  }
  if (!out.policy.ok()) {
    errors += app::render_text(out.policy.file, out.policy.diags);
    errors += "error[C772]: policy `" + paths_.policy + "` is invalid\n";
    return std::nullopt;
  }
  // Tailscale refuses to save a policy whose tests fail; so does a reload here.
  const auto tests = engine::run_policy_tests(out.policy.file, *out.policy.ast, &out.inventory,
                                              engine::CompileOptions{unix_now()});
  if (!tests.passed) {
    errors += app::render_text(out.policy.file, tests.diagnostics);
    errors += "error[C772]: policy `" + paths_.policy + "`: test(s) failed\n";
    return std::nullopt;
  }
  return out;
}

void LiveState::install(Loaded loaded) {
  if (store_) {
    auto table = store_->load_attributes();
    if (table) {
      overlay_ = std::move(table.value());
    } else {
      log_.warn("cannot read the attribute store, keeping the attributes last read: " +
                table.error().message);
    }
  }
  engine::Inventory effective = loaded.inventory;
  sync::apply_overlay(effective, overlay_);
  const auto now = unix_now();
  if (!engine_) {
    engine_ = engine::Engine::compile(loaded.policy.file, *loaded.policy.ast, effective,
                                      engine::CompileOptions{now});
  } else {
    engine_->reload(loaded.policy.file, *loaded.policy.ast, effective, engine::CompileOptions{now});
  }
  by_key_.clear();
  auto expiries = std::make_shared<ExpiryTable>();
  for (std::size_t i = 0; i < effective.devices.size(); ++i) {
    const auto& d = effective.devices[i];
    const auto index = static_cast<engine::DeviceIndex>(i);
    if (!d.id.empty()) by_key_.emplace(d.id, index);
    if (!d.node_id.empty()) by_key_[d.node_id] = index;  // nodeId wins over a clashing id
    if (!d.expiries.empty()) {
      (*expiries)[index] = ExpiryMap(d.expiries.begin(), d.expiries.end());
    }
  }
  expiries_ = std::move(expiries);
  base_ = std::move(loaded.inventory);
  policy_stamp_ = loaded.policy_stamp;
  tailnet_stamp_ = loaded.tailnet_stamp;
  ++version_;
  loaded_at_ = now;
  publish_locked();
}

void LiveState::publish_locked() {
  auto v = std::make_shared<View>();
  v->snapshot = engine_->snapshot();
  v->expiries = expiries_;
  v->policy_version = version_;
  v->policy_loaded_at = loaded_at_;
  v->published = std::chrono::steady_clock::now();
  std::shared_ptr<const View> next = std::move(v);
  {
    std::lock_guard lock(view_mu_);
    view_.swap(next);
  }
  // The previous view (now in `next`) is released here, outside the lock.
}

ReloadOutcome LiveState::reload(bool force) {
  std::lock_guard lock(writer_);
  const auto policy_now = stamp(paths_.policy);
  const auto tailnet_now = stamp(paths_.tailnet);
  if (!force && policy_now == policy_stamp_ && tailnet_now == tailnet_stamp_) {
    return ReloadOutcome::Unchanged;
  }
  std::string errors;
  auto loaded = load_files(errors);
  if (!loaded) {
    // Remember what was rejected so the same bad file is reported once, not at every poll.
    policy_stamp_ = policy_now;
    tailnet_stamp_ = tailnet_now;
    log_.error("reload rejected; still serving policy version " + std::to_string(version_) + ":\n" +
               errors);
    return ReloadOutcome::Rejected;
  }
  install(std::move(*loaded));
  log_.info("reloaded `" + paths_.policy + "` and `" + paths_.tailnet + "`: policy version " +
            std::to_string(version_) + ", " + std::to_string(base_.devices.size()) + " devices");
  return ReloadOutcome::Reloaded;
}

std::optional<engine::AttrChange> LiveState::file_value(engine::DeviceIndex device,
                                                        const std::string& key) const {
  if (device >= base_.devices.size()) return std::nullopt;
  const auto& d = base_.devices[device];
  const auto it = d.attributes.find(key);
  if (it == d.attributes.end()) return std::nullopt;
  const auto exp = d.expiries.find(key);
  return engine::AttrChange::set(
      key, it->second,
      exp == d.expiries.end() ? std::nullopt : std::optional<std::int64_t>(exp->second));
}

void LiveState::record_expiries(engine::DeviceIndex device,
                                std::span<const engine::AttrChange> changes) {
  auto table = std::make_shared<ExpiryTable>(*expiries_);
  auto& map = (*table)[device];
  for (const auto& c : changes) {
    if (c.kind == engine::AttrChange::Kind::Delete) {
      map.erase(c.key);
    } else if (c.expiry) {
      map[c.key] = *c.expiry;
    } else if (c.kind == engine::AttrChange::Kind::Set) {
      map.erase(c.key);
    }
  }
  if (map.empty()) table->erase(device);
  expiries_ = std::move(table);
}

std::size_t LiveState::refresh_from_store() {
  if (!store_) return 0;
  std::lock_guard lock(writer_);
  auto loaded = store_->load_attributes();
  if (!loaded) {
    log_.warn("cannot read the attribute store: " + loaded.error().message);
    return 0;
  }
  sync::AttributeTable next = std::move(loaded.value());
  std::set<std::string> keys;
  for (const auto& [k, v] : overlay_) keys.insert(k);
  for (const auto& [k, v] : next) keys.insert(k);
  const auto now = unix_now();
  std::size_t devices = 0;
  std::size_t changed_attrs = 0;
  static const sync::DeviceAttributes kNone;
  for (const auto& device_key : keys) {
    const auto found = by_key_.find(device_key);
    if (found == by_key_.end()) continue;  // not in the inventory: nothing to evaluate
    const auto old_it = overlay_.find(device_key);
    const auto new_it = next.find(device_key);
    const auto& before = old_it == overlay_.end() ? kNone : old_it->second;
    const auto& after = new_it == next.end() ? kNone : new_it->second;
    std::vector<engine::AttrChange> changes;
    for (const auto& [key, attr] : after) {
      if (is_builtin(key)) continue;
      const auto b = before.find(key);
      if (b != before.end() && same_attribute(b->second, attr)) continue;
      changes.push_back(engine::AttrChange::set(key, attr.value, attr.expires_at));
    }
    for (const auto& [key, attr] : before) {
      if (is_builtin(key) || after.count(key) != 0) continue;
      // The stored value is gone: the inventory file's value, if any, shows through again.
      auto restored = file_value(found->second, key);
      changes.push_back(restored ? std::move(*restored) : engine::AttrChange::remove(key));
    }
    if (changes.empty()) continue;
    const auto result = engine_->apply(found->second, changes, now);
    if (!result.ok) {
      log_.error("cannot apply stored attributes of `" + device_key + "`: " + result.error);
      continue;
    }
    record_expiries(found->second, changes);
    ++devices;
    changed_attrs += changes.size();
  }
  overlay_ = std::move(next);
  if (devices > 0) {
    publish_locked();
    log_.info("applied " + std::to_string(changed_attrs) + " stored attribute change(s) on " +
              std::to_string(devices) + " device(s)");
  }
  return devices;
}

std::size_t LiveState::advance_time() {
  std::lock_guard lock(writer_);
  const auto touched = engine_->advance_time(unix_now());
  if (touched > 0) publish_locked();
  return touched;
}

namespace {

std::string audit_details(const std::string& device_key, const std::string& hostname,
                          const std::string& key, const std::optional<engine::AttrValue>& old_value,
                          const std::optional<engine::AttrValue>& new_value,
                          std::optional<std::int64_t> expiry, const std::string& comment) {
  nlohmann::json change = {{"key", key}};
  if (old_value) change["old"] = app::attr_value_json(*old_value);
  if (new_value) change["new"] = app::attr_value_json(*new_value);
  nlohmann::json details = {
      {"node", device_key}, {"name", hostname}, {"changes", nlohmann::json::array({change})}};
  if (expiry) details["expiry"] = sync::format_rfc3339(*expiry);
  if (!comment.empty()) details["comment"] = comment;
  return details.dump();
}

WriteResult unknown_device(std::string_view device) {
  return {404, "unknown_device", "no single device is named `" + std::string(device) + "`"};
}

}  // namespace

WriteResult LiveState::set_attribute(std::string_view device, const std::string& key,
                                     const engine::AttrValue& value,
                                     std::optional<std::int64_t> expiry,
                                     const std::string& comment) {
  std::lock_guard lock(writer_);
  const auto snap = engine_->snapshot();
  const auto index = snap->find_device(device);
  if (!index) return unknown_device(device);
  const auto now = unix_now();
  if (expiry && *expiry <= now) {
    return {400, "invalid_attribute", "`expiry` must be in the future"};
  }
  // Under the writer lock, so two writes cannot give one key two types.
  if (auto conflict = check_key_consistency(*snap, key, value)) {
    return {409, "conflict", *conflict};
  }
  const auto& d = snap->device(*index);
  const auto current = snap->attributes(*index);
  std::optional<engine::AttrValue> old_value;
  if (const auto it = current.find(key); it != current.end()) old_value = it->second;
  const std::string device_key = sync::device_key(d);
  if (store_) {
    const std::vector<sync::AttributeWrite> writes = {
        sync::AttributeWrite{device_key, key, value, "api", expiry}};
    const std::vector<sync::AuditEvent> events = {sync::AuditEvent{
        0, now, "api", "node:" + device_key, std::string(sync::kActionNodeAttribute),
        audit_details(device_key, d.hostname, key, old_value, value, expiry, comment)}};
    if (auto written = store_->write_attributes(writes, events); !written) {
      return {503, "store_unavailable",
              "cannot write the attribute store: " + written.error().message};
    }
  }
  overlay_[device_key][key] = sync::StoredAttribute{value, "api", now, expiry};
  const std::vector<engine::AttrChange> changes = {engine::AttrChange::set(key, value, expiry)};
  if (const auto applied = engine_->apply(*index, changes, now); !applied.ok) {
    return {500, "internal", applied.error};
  }
  record_expiries(*index, changes);
  publish_locked();
  log_.info("api: set `" + key + "` on `" + d.hostname + "` (" + device_key + ")" +
            (expiry ? " until " + sync::format_rfc3339(*expiry) : std::string()));
  return {};
}

WriteResult LiveState::delete_attribute(std::string_view device, const std::string& key,
                                        const std::string& comment) {
  std::lock_guard lock(writer_);
  const auto snap = engine_->snapshot();
  const auto index = snap->find_device(device);
  if (!index) return unknown_device(device);
  const auto& d = snap->device(*index);
  const std::string device_key = sync::device_key(d);
  auto held = overlay_.find(device_key);
  const bool overridden = held != overlay_.end() && held->second.count(key) != 0;
  auto restored = file_value(*index, key);
  if (!overridden) {
    if (restored) {
      return {409, "conflict",
              "`" + key + "` of `" + d.hostname + "` comes from the tailnet inventory file `" +
                  paths_.tailnet + "`; change it there"};
    }
    return {};  // nothing to delete: deleting is idempotent
  }
  const auto now = unix_now();
  const auto current = snap->attributes(*index);
  std::optional<engine::AttrValue> old_value;
  if (const auto it = current.find(key); it != current.end()) old_value = it->second;
  std::optional<engine::AttrValue> new_value;
  if (restored) new_value = restored->value;
  if (store_) {
    const std::vector<sync::AttributeWrite> writes = {
        sync::AttributeWrite{device_key, key, std::nullopt, "api", std::nullopt}};
    const std::vector<sync::AuditEvent> events = {sync::AuditEvent{
        0, now, "api", "node:" + device_key, std::string(sync::kActionNodeAttribute),
        audit_details(device_key, d.hostname, key, old_value, new_value, std::nullopt, comment)}};
    if (auto written = store_->write_attributes(writes, events); !written) {
      return {503, "store_unavailable",
              "cannot write the attribute store: " + written.error().message};
    }
  }
  held->second.erase(key);
  if (held->second.empty()) overlay_.erase(held);
  const std::vector<engine::AttrChange> changes = {restored ? std::move(*restored)
                                                            : engine::AttrChange::remove(key)};
  if (const auto applied = engine_->apply(*index, changes, now); !applied.ok) {
    return {500, "internal", applied.error};
  }
  record_expiries(*index, changes);
  publish_locked();
  log_.info("api: deleted `" + key + "` on `" + d.hostname + "` (" + device_key + ")");
  return {};
}

std::vector<sync::TailnetNode> LiveState::tailnet_nodes() const {
  return sync::tailnet_nodes(view()->snapshot->inventory());
}

}  // namespace postern::server
