// Engine: the current snapshot behind an atomic shared_ptr, live attribute updates, reloads.
#include "postern/engine/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "attribute_keys.hpp"
#include "compiled.hpp"

namespace postern::engine {

std::string rule_name(const RuleRef& rule) {
  std::string out;
  append_rule_name(out, rule);
  return out;
}

void append_rule_name(std::string& out, const RuleRef& rule) {
  out += rule.kind == RuleKind::Acl ? "acls[" : "grants[";
  const fmt::format_int index(rule.index);
  out.append(index.data(), index.size());
  out += ']';
}

AttrChange AttrChange::set(std::string key, AttrValue value, std::optional<std::int64_t> expiry) {
  AttrChange c;
  c.kind = Kind::Set;
  c.key = std::move(key);
  c.value = std::move(value);
  c.expiry = expiry;
  return c;
}

AttrChange AttrChange::remove(std::string key) {
  AttrChange c;
  c.kind = Kind::Delete;
  c.key = std::move(key);
  return c;
}

AttrChange AttrChange::set_expiry(std::string key, std::int64_t expiry) {
  AttrChange c;
  c.kind = Kind::SetExpiry;
  c.key = std::move(key);
  c.expiry = expiry;
  return c;
}

std::shared_ptr<const RowMasks> make_row_masks(const CompiledPolicy& policy) {
  if (policy.words > 64) return nullptr;
  auto summarize = [](const std::vector<Bits>& rows) {
    std::vector<Word> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      Word mask = 0;
      for (std::size_t w = 0; w < row.size(); ++w) {
        if (row[w] != 0) mask |= Word{1} << w;
      }
      out.push_back(mask);
    }
    return out;
  };
  auto masks = std::make_shared<RowMasks>();
  masks->src = summarize(policy.src_class_rows);
  masks->dst = summarize(policy.dst_class_rows);
  masks->port = summarize(policy.port_rows);
  return masks;
}

// ---- Snapshot ----

Snapshot::Snapshot(std::unique_ptr<const SnapshotData> data) : data_(std::move(data)) {}
Snapshot::~Snapshot() = default;

std::optional<DeviceIndex> Snapshot::find_device(std::string_view name) const {
  const auto found = data_->policy->names->find(name);
  if (found.size() != 1) return std::nullopt;
  return found.front();
}

const DeviceNameIndex& Snapshot::names() const noexcept { return *data_->policy->names; }

std::size_t Snapshot::device_count() const noexcept {
  return data_->policy->inventory.devices.size();
}

const Device& Snapshot::device(DeviceIndex index) const noexcept {
  return data_->policy->inventory.devices[index];
}

const Inventory& Snapshot::inventory() const noexcept { return data_->policy->inventory; }

AttrMap Snapshot::attributes(DeviceIndex index) const {
  AttrMap out;
  visit_attributes(index, [&out](const std::string& key, const AttrValue& value) {
    out.emplace_hint(out.end(), key, value);  // in order
  });
  return out;
}

void Snapshot::visit_attributes(
    DeviceIndex index,
    const std::function<void(const std::string& key, const AttrValue& value)>& visit) const {
  const auto& st = data_->chunks[index / kChunk]->states[index % kChunk];
  for (const auto& [k, v] : *st.attributes) {
    if (!expired(st.expiries.get(), k, data_->now)) visit(k, v);
  }
}

AttributeStates Snapshot::attribute_states(DeviceIndex index) const {
  const auto& st = data_->chunks[index / kChunk]->states[index % kChunk];
  AttributeStates out;
  for (const auto& [key, value] : *st.attributes) {
    if (auto state = attribute(index, key)) out.emplace(key, std::move(*state));
  }
  return out;
}

std::optional<AttributeState> Snapshot::attribute(DeviceIndex index, std::string_view key) const {
  const auto& st = data_->chunks[index / kChunk]->states[index % kChunk];
  const AttrValue* value = lookup_attr(*st.attributes, st.expiries.get(), key, data_->now);
  if (value == nullptr) return std::nullopt;
  AttributeState state{*value, std::nullopt};
  if (st.expiries) {
    if (const auto it = st.expiries->find(key); it != st.expiries->end()) state.expiry = it->second;
  }
  return state;
}

Expiries Snapshot::expiries(DeviceIndex index) const {
  const auto& st = data_->chunks[index / kChunk]->states[index % kChunk];
  Expiries out;
  if (!st.expiries) return out;
  for (const auto& [key, at] : *st.expiries) {
    if (at > data_->now && st.attributes->contains(key)) out.emplace(key, at);
  }
  return out;
}

const grammar::SourceFile& Snapshot::file() const noexcept { return data_->policy->file; }
std::shared_ptr<const void> Snapshot::policy_identity() const noexcept { return data_->policy; }
std::int64_t Snapshot::now() const noexcept { return data_->now; }

// ---- Engine ----

struct Engine::Impl {
  std::atomic<std::shared_ptr<const Snapshot>> current;
  std::mutex writer;  // serialises apply/advance_time/reload/key usage; readers never take it
  RowCache cache;     // posture rows by posture results, for the current policy
  std::optional<AttributeKeyIndex> keys;  // of the current snapshot; built on first use
};

Engine::Engine(std::shared_ptr<const Snapshot> initial) : impl_(std::make_unique<Impl>()) {
  impl_->current.store(std::move(initial));
}

Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::compile(const grammar::SourceFile& file,
                                        const grammar::policy::Ast& ast, const Inventory& inventory,
                                        CompileOptions options) {
  return compile(file, ast, std::make_shared<const Inventory>(inventory), options);
}

struct PreparedReload::Parts {
  std::unique_ptr<SnapshotData> data;
  RowCache cache;
};

PreparedReload::PreparedReload(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
PreparedReload::PreparedReload(PreparedReload&&) noexcept = default;
PreparedReload& PreparedReload::operator=(PreparedReload&&) noexcept = default;
PreparedReload::~PreparedReload() = default;

std::unique_ptr<Engine> Engine::compile(const grammar::SourceFile& file,
                                        const grammar::policy::Ast& ast,
                                        std::shared_ptr<const Inventory> inventory,
                                        CompileOptions options) {
  auto prepared = prepare(file, ast, std::move(inventory), options);
  auto& parts = *prepared.parts_;
  auto engine = std::make_unique<Engine>(std::make_shared<const Snapshot>(std::move(parts.data)));
  engine->impl_->cache = std::move(parts.cache);
  return engine;
}

std::shared_ptr<const Snapshot> Engine::current() const noexcept {
  return impl_->current.load(std::memory_order_acquire);
}

void Engine::publish(std::shared_ptr<const Snapshot> next) noexcept {
  impl_->current.store(std::move(next), std::memory_order_release);
}

std::shared_ptr<const Snapshot> Engine::snapshot() const noexcept { return current(); }

Decision Engine::check(const Request& request) const noexcept { return current()->check(request); }

void Engine::check_batch(std::span<const Request> requests, std::span<bool> allow) const noexcept {
  current()->check_batch(requests, allow);
}

void Engine::check_batch(std::span<const Request> requests,
                         std::span<Decision> decisions) const noexcept {
  current()->check_batch(requests, decisions);
}

namespace {

// Re-evaluate one device after its attributes changed: only postures reading `keys`.
DeviceState reevaluate(const CompiledPolicy& cp, DeviceIndex dev, const DeviceState& old,
                       std::shared_ptr<const AttrMap> attrs, std::shared_ptr<const Expiries> exp,
                       const std::vector<std::string>& keys, std::int64_t now, RowCache& cache,
                       ApplyResult& result) {
  DeviceState st = old;
  st.attributes = std::move(attrs);
  st.expiries = std::move(exp);
  std::vector<std::uint32_t> affected_postures;
  for (const auto& k : keys) {
    auto it = cp.attr_ids.find(k);
    if (it == cp.attr_ids.end()) continue;
    for (auto p : cp.attr_to_postures[it->second]) affected_postures.push_back(p);
  }
  std::sort(affected_postures.begin(), affected_postures.end());
  affected_postures.erase(std::unique(affected_postures.begin(), affected_postures.end()),
                          affected_postures.end());
  bool changed = false;
  for (auto p : affected_postures) {
    const bool ok = posture_holds(cp, p, *st.attributes, st.expiries.get(), now);
    ++result.postures_reevaluated;
    if (ok != st.posture_ok[p]) {
      st.posture_ok[p] = ok;
      ++result.postures_changed;
      changed = true;
    }
  }
  if (changed && !cp.device_exempt[dev]) st.pok_row = posture_row(cp, st.posture_ok, cache);
  st.next_expiry = 0;
  if (st.expiries) {
    for (const auto& [key, at] : *st.expiries) {
      if (at > now && (st.next_expiry == 0 || at < st.next_expiry)) st.next_expiry = at;
    }
  }
  return st;
}

// The device's state after `changes`: its attributes and expiries copied and changed, the key
// index kept up to date, and the postures that read a changed key re-evaluated.
DeviceState changed_state(const CompiledPolicy& cp, DeviceIndex device, const DeviceState& old,
                          std::span<const AttrChange> changes, std::int64_t now,
                          std::optional<AttributeKeyIndex>& key_index, RowCache& cache,
                          ApplyResult& result) {
  auto attrs = std::make_shared<AttrMap>(*old.attributes);
  auto exp =
      old.expiries ? std::make_shared<Expiries>(*old.expiries) : std::make_shared<Expiries>();
  std::vector<std::string> keys;
  for (const auto& c : changes) {
    keys.push_back(c.key);
    if (key_index && c.kind != AttrChange::Kind::SetExpiry) {
      if (const auto held = attrs->find(c.key); held != attrs->end()) {
        key_index->remove(held->first, held->second);
      }
      if (c.kind == AttrChange::Kind::Set) key_index->add(c.key, c.value);
    }
    switch (c.kind) {
      case AttrChange::Kind::Set:
        (*attrs)[c.key] = c.value;
        if (c.expiry.has_value()) {
          (*exp)[c.key] = *c.expiry;
        } else {
          exp->erase(c.key);
        }
        break;
      case AttrChange::Kind::Delete:
        attrs->erase(c.key);
        exp->erase(c.key);
        break;
      case AttrChange::Kind::SetExpiry:
        if (c.expiry.has_value()) (*exp)[c.key] = *c.expiry;
        break;
    }
  }
  std::shared_ptr<const Expiries> exp_out;
  if (!exp->empty()) exp_out = std::move(exp);
  return reevaluate(cp, device, old, std::move(attrs), std::move(exp_out), keys, now, cache,
                    result);
}

}  // namespace

ApplyResult Engine::apply(DeviceIndex device, std::span<const AttrChange> changes,
                          std::int64_t now) {
  const DeviceChanges one{device, changes};
  return apply(std::span(&one, 1), now);
}

ApplyResult Engine::apply(std::span<const DeviceChanges> batch, std::int64_t now) {
  std::lock_guard lock(impl_->writer);
  auto snap = current();
  advance_on(snap, now);  // time moves first, so every device's expiries are current
  const auto result = apply_on(snap, batch);
  publish(std::move(snap));
  return result;
}

ApplyResult Engine::apply_on(std::shared_ptr<const Snapshot>& snap,
                             std::span<const DeviceChanges> batch) {
  ApplyResult result;
  const SnapshotData& data = snap->data();
  const CompiledPolicy& cp = *data.policy;
  for (const auto& edit : batch) {
    if (edit.device >= cp.inventory.devices.size()) {
      result.error = "unknown device index " + std::to_string(edit.device);
      return result;
    }
  }
  auto next = std::make_unique<SnapshotData>();
  next->policy = data.policy;
  next->masks = data.masks;
  next->now = data.now;
  next->chunks = data.chunks;  // shares every chunk no device of the batch is in
  std::unordered_map<std::size_t, std::shared_ptr<DeviceChunk>> copies;  // each copied once
  for (const auto& edit : batch) {
    auto& copy = copies[edit.device / kChunk];
    if (!copy) copy = std::make_shared<DeviceChunk>(*data.chunks[edit.device / kChunk]);
    auto& state = copy->states[edit.device % kChunk];
    state = changed_state(cp, edit.device, state, edit.changes, data.now, impl_->keys, impl_->cache,
                          result);
    copy->refresh(edit.device % kChunk);
  }
  for (auto& [chunk, copy] : copies) next->chunks.replace(chunk, std::move(copy));
  snap = std::make_shared<const Snapshot>(std::move(next));
  result.ok = true;
  return result;
}

std::size_t Engine::advance_time(std::int64_t now) {
  std::lock_guard lock(impl_->writer);
  auto snap = current();
  const auto touched = advance_on(snap, now);
  publish(std::move(snap));
  return touched;
}

std::size_t Engine::advance_on(std::shared_ptr<const Snapshot>& snap, std::int64_t now) {
  const SnapshotData& data = snap->data();
  if (now <= data.now) return 0;
  const CompiledPolicy& cp = *data.policy;
  auto next = std::make_unique<SnapshotData>();
  next->policy = data.policy;
  next->masks = data.masks;
  next->now = now;
  next->chunks = data.chunks;
  std::size_t touched = 0;
  for (std::size_t c = 0; c < data.chunks.size(); ++c) {
    std::shared_ptr<DeviceChunk> copy;
    for (std::size_t i = 0; i < data.chunks[c]->states.size(); ++i) {
      const auto& st = data.chunks[c]->states[i];
      if (st.next_expiry == 0 || st.next_expiry > now) continue;
      if (!copy) copy = std::make_shared<DeviceChunk>(*data.chunks[c]);
      std::vector<std::string> keys;
      for (const auto& [k, at] : *st.expiries) {
        if (at <= now) keys.push_back(k);
      }
      ApplyResult ignored;
      copy->states[i] = reevaluate(cp, static_cast<DeviceIndex>(c * kChunk + i), st, st.attributes,
                                   st.expiries, keys, now, impl_->cache, ignored);
      copy->refresh(i);
      ++touched;
    }
    if (copy) next->chunks.replace(c, std::move(copy));
  }
  snap = std::make_shared<const Snapshot>(std::move(next));
  return touched;
}

void Engine::reload(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
                    const Inventory& inventory, CompileOptions options) {
  reload(file, ast, std::make_shared<const Inventory>(inventory), options);
}

void Engine::reload(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
                    std::shared_ptr<const Inventory> inventory, CompileOptions options) {
  (void)install(prepare(file, ast, std::move(inventory), options), {}, options.now);
}

PreparedReload Engine::prepare(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
                               std::shared_ptr<const Inventory> inventory, CompileOptions options) {
  auto policy = compile_policy(file, ast, std::move(inventory));
  auto parts = std::make_unique<PreparedReload::Parts>();
  parts->data = std::make_unique<SnapshotData>(initial_state(policy, options.now, parts->cache));
  parts->data->masks = make_row_masks(*policy);
  return PreparedReload(std::move(parts));
}

ApplyResult Engine::install(PreparedReload prepared,
                            std::span<const std::vector<DeviceChanges>> replay, std::int64_t now) {
  auto& parts = *prepared.parts_;
  std::lock_guard lock(impl_->writer);
  impl_->cache = std::move(parts.cache);
  impl_->keys.reset();  // other devices, other attributes: rebuilt on next use
  std::shared_ptr<const Snapshot> snap = std::make_shared<const Snapshot>(std::move(parts.data));
  ApplyResult result;
  result.ok = true;
  // Applied before anyone can read it: a check never sees the compile's older attributes.
  for (const auto& batch : replay) {
    advance_on(snap, now);
    auto applied = apply_on(snap, batch);
    if (!applied.ok) result = std::move(applied);
  }
  publish(std::move(snap));
  return result;
}

std::vector<AttributeKeyUsage> Engine::attribute_key_usage(std::string_view key) const {
  std::lock_guard lock(impl_->writer);
  if (!impl_->keys) {
    const auto snap = current();
    impl_->keys.emplace();
    for (DeviceIndex d = 0; d < snap->device_count(); ++d) {
      const auto& st = snap->data().chunks[d / kChunk]->states[d % kChunk];
      for (const auto& [k, value] : *st.attributes) impl_->keys->add(k, value);
    }
  }
  return impl_->keys->usage(key);
}

}  // namespace postern::engine
