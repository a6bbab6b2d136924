// Attribute operations: read a device's attributes with their sources; set, delete and batch-edit
// custom:* attributes (validated, stored, audited, applied); let expiries take effect.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>

#include "postern/control/attribute_json.hpp"
#include "postern/control/attribute_rules.hpp"
#include "postern/grammar/json_value.hpp"
#include "postern/grammar/time.hpp"
#include "postern/sync/matcher.hpp"
#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;

// A device's attributes, room for which is made at once: a device holds its node:* attributes
// (5 from Tailscale) and a few custom or provider ones.
constexpr std::size_t kExpectedAttributes = 16;

Error unknown_device(std::string_view device) {
  return not_found(DiagCode::C744, fmt::format("no single device is named `{}`", device),
                   "use the device's id, nodeId, address, FQDN or hostname");
}

// An attribute as an edit sees it: the request's own earlier edits, then the edits accepted
// but not yet applied (group commit), then the live state.
struct EditView {
  const engine::Engine& engine;
  const engine::Snapshot& snap;
  const sync::AttributeTable& overlay;
  const AttributeStage& staged;
  const AttributeStage& edit;

  [[nodiscard]] const AttributeStage::Entry* pending(const std::string& device_key,
                                                     const std::string& key) const {
    if (const auto* mine = edit.find(device_key, key)) return mine;
    return staged.find(device_key, key);
  }
  [[nodiscard]] std::optional<engine::AttrValue> value(engine::DeviceIndex device,
                                                       const std::string& device_key,
                                                       const std::string& key) const {
    if (const auto* p = pending(device_key, key)) return p->value;
    if (auto held = snap.attribute(device, key)) return std::move(held->value);
    return std::nullopt;
  }
  [[nodiscard]] bool stored(const std::string& device_key, const std::string& key) const {
    if (const auto* p = pending(device_key, key)) return p->stored;
    const auto held = overlay.find(device_key);
    return held != overlay.end() && held->second.count(key) != 0;
  }
  // The stored value and expiry, exactly as this edit would write them: nothing to write or log.
  [[nodiscard]] bool unchanged(const std::string& device_key, const AttributeEdit& write) const {
    if (pending(device_key, write.key) != nullptr) return false;  // decided by the pending edit
    const auto held = overlay.find(device_key);
    if (held == overlay.end()) return false;
    const auto attribute = held->second.find(write.key);
    return attribute != held->second.end() && attribute->second.source == "api" &&
           attribute->second.value == write.value && attribute->second.expires_at == write.expiry;
  }
  // The device's stored custom: attributes (not counting edits still pending).
  [[nodiscard]] std::size_t custom_count(const std::string& device_key) const {
    const auto held = overlay.find(device_key);
    if (held == overlay.end()) return 0;
    return static_cast<std::size_t>(
        std::count_if(held->second.begin(), held->second.end(),
                      [](const auto& a) { return a.first.starts_with(kCustomPrefix); }));
  }
  // Holders of every spelling of `key` once the pending edits are applied.
  [[nodiscard]] std::map<std::string, HolderCounts> usage(const std::string& key) const {
    std::map<std::string, HolderCounts> counts;
    for (const auto& u : engine.attribute_key_usage(key)) {
      auto& c = counts[u.spelling];
      c[0] += static_cast<std::int64_t>(u.string_holders);
      c[1] += static_cast<std::int64_t>(u.number_holders);
      c[2] += static_cast<std::int64_t>(u.bool_holders);
    }
    staged.add_usage(key, counts);
    edit.add_usage(key, counts);
    return counts;
  }
};

// One type per key tailnet-wide, and no two keys that differ only in case: O(1) per edit through
// the engine's per-key index (Engine::attribute_key_usage) and the pending edits' counts.
// `own` is the value the written device holds now, which the write replaces.
std::optional<Error> check_key_consistency(const EditView& view, const std::string& key,
                                           const engine::AttrValue& value,
                                           const std::optional<engine::AttrValue>& own) {
  for (const auto& [spelling, counts] : view.usage(key)) {
    const std::int64_t holders = counts[0] + counts[1] + counts[2];
    if (holders <= 0) continue;
    if (spelling != key) {
      return conflict(DiagCode::K804,
                      fmt::format("`{}` differs only in case from `{}`; keys are unique "
                                  "regardless of case",
                                  key, spelling),
                      fmt::format("use `{}`", spelling));
    }
    std::int64_t other = holders - counts[value.index()];
    if (own && own->index() != value.index()) --other;  // replaced by this write
    if (other > 0) {
      return conflict(DiagCode::K803,
                      fmt::format("`{}` already holds values of another type on {} device(s); "
                                  "it cannot hold a {}",
                                  key, other, value_type_name(value)),
                      "send a value of the type the key already has, or delete it everywhere "
                      "first");
    }
  }
  return std::nullopt;
}

// Room for one more custom: attribute on a device that holds `held` (with this request's).
std::optional<Error> check_room(std::size_t held, const std::string& hostname) {
  if (held < kMaxCustomAttributesPerDevice) return std::nullopt;
  return invalid(DiagCode::K808,
                 fmt::format("`{}` already holds {} custom attributes, the most one device may "
                             "hold",
                             hostname, kMaxCustomAttributesPerDevice),
                 "delete the ones it no longer needs first");
}

// {"changes":[{"expiry"? (RFC 3339),"key","new"?,"old"?}],"comment"?,"name","node"}: written by the
// committer for every edited device, so with fmt rather than through a document tree.
std::string audit_details(const AttributeAudit& audit) {
  std::string out = R"({"changes":[)";
  for (const auto& c : audit.changes) {
    if (&c != &audit.changes.front()) out += ',';
    out += '{';
    if (c.expiry) {
      fmt::format_to(std::back_inserter(out), R"("expiry":"{}",)",
                     timefmt::format_rfc3339(*c.expiry));
    }
    out += R"("key":)";
    grammar::json::append_json_string(out, c.key);
    if (c.new_value) {
      out += R"(,"new":)";
      append_attribute_value_json(out, *c.new_value);
    }
    if (c.old_value) {
      out += R"(,"old":)";
      append_attribute_value_json(out, *c.old_value);
    }
    out += '}';
  }
  out += ']';
  if (!audit.comment.empty()) {
    out += R"(,"comment":)";
    grammar::json::append_json_string(out, audit.comment);
  }
  out += R"(,"name":)";
  grammar::json::append_json_string(out, audit.hostname);
  out += R"(,"node":)";
  grammar::json::append_json_string(out, audit.device_key);
  out += '}';
  return out;
}

}  // namespace

std::vector<sync::AuditEvent> attribute_audit_events(const std::vector<AttributeAudit>& audits) {
  std::vector<sync::AuditEvent> events;
  events.reserve(audits.size());
  for (const auto& audit : audits) {
    events.push_back(sync::AuditEvent{0, audit.time, audit.actor, "node:" + audit.device_key,
                                      std::string(sync::kActionNodeAttribute), audit_details(audit),
                                      audit.origin});
  }
  return events;
}

void Tailnet::Impl::apply_writes(const std::vector<sync::AttributeWrite>& writes) {
  attribute_writes += writes.size();
  for (const auto& w : writes) {
    if (w.value) {
      overlay[w.device][w.key] =
          sync::StoredAttribute{*w.value, w.source, self.now(), w.expires_at};
    } else if (auto held = overlay.find(w.device); held != overlay.end()) {
      held->second.erase(w.key);
      if (held->second.empty()) overlay.erase(held);
    }
  }
  ++write_batches_applied;
  if (!write_log_readers.empty()) write_log.emplace_back(write_batches_applied, writes);
  apply_to_engine(writes);
}

Tailnet::Impl::EngineChanges Tailnet::Impl::engine_changes(
    const std::vector<sync::AttributeWrite>& writes) const {
  const auto snap = engine->snapshot();
  EngineChanges by_device;
  for (const auto& w : writes) {
    const auto index = snap->find_device(w.device);
    if (!index || w.key.rfind("node:", 0) == 0) continue;  // not in the inventory: nothing to do
    if (w.value) {
      by_device[*index].push_back(engine::AttrChange::set(w.key, *w.value, w.expires_at));
    } else if (auto restored = file_value(*index, w.key)) {
      // The stored value is gone: the inventory file's value, if any, shows through again.
      by_device[*index].push_back(std::move(*restored));
    } else {
      by_device[*index].push_back(engine::AttrChange::remove(w.key));
    }
  }
  return by_device;
}

std::vector<engine::DeviceChanges> Tailnet::Impl::as_batch(const EngineChanges& changes) {
  std::vector<engine::DeviceChanges> batch;
  batch.reserve(changes.size());
  for (const auto& [device, device_changes] : changes) batch.push_back({device, device_changes});
  return batch;
}

void Tailnet::Impl::apply_to_engine(const std::vector<sync::AttributeWrite>& writes) {
  const auto changes = engine_changes(writes);
  if (changes.empty()) return;
  const auto batch = as_batch(changes);
  if (const auto applied = engine->apply(batch, self.now()); !applied.ok) {
    log(LogLevel::error,
        fmt::format("cannot apply attributes of {} device(s): {}", batch.size(), applied.error));
  }
}

Outcome<DeviceAttributesView> Tailnet::device_attributes(std::string_view device) const {
  const auto snap = snapshot();
  const auto index = snap->find_device(device);
  if (!index) return unknown_device(device);
  const auto& d = snap->device(*index);
  DeviceAttributesView view{*index, sync::device_key(d), {}};
  // The overlay and the inventory file are a writer's: only this device's stored attributes (a
  // few) are copied under the lock, which every attribute write takes and the committer holds
  // while it applies a batch; the view is built outside it.
  sync::DeviceAttributes held;
  std::shared_ptr<const engine::Inventory> base;
  {
    std::lock_guard lock(impl_->writer);
    if (const auto it = impl_->overlay.find(view.device_key); it != impl_->overlay.end()) {
      held = it->second;
    }
    base = impl_->base;
  }
  // A reload between the snapshot and the lock may have replaced the file: index with care.
  const auto* file = *index < base->devices.size() ? &base->devices[*index] : nullptr;
  view.attributes.reserve(kExpectedAttributes);
  snap->visit_attributes(*index, [&](const std::string& key, const engine::AttrValue& value) {
    AttributeView a{key, value, "inventory", std::nullopt, std::nullopt};
    if (key.rfind("node:", 0) == 0) a.source = "node";
    if (const auto exp = d.expiries.find(key); exp != d.expiries.end()) a.expires_at = exp->second;
    if (const auto s = held.find(key); s != held.end() && a.source != "node") {
      a.source = s->second.source;
      a.updated_at = s->second.updated_at;
      a.expires_at = s->second.expires_at;
    }
    if (a.source == "inventory" && (file == nullptr || file->attributes.count(key) == 0)) {
      a.source = "api";
    }
    view.attributes.push_back(std::move(a));
  });
  return view;
}

Outcome<DeviceAttributesView> Tailnet::set_attribute(
    std::string_view device, const std::string& key, const engine::AttrValue& value,
    std::optional<std::int64_t> expiry, const std::string& comment, const Actor& actor) {
  AttributeEdit edit{std::string(device), key, value, expiry};
  if (auto done_edit = edit_attributes({edit}, comment, actor); !done_edit) {
    return done_edit.error();
  }
  return device_attributes(device);
}

Outcome<DeviceAttributesView> Tailnet::delete_attribute(std::string_view device,
                                                        const std::string& key,
                                                        const std::string& comment,
                                                        const Actor& actor) {
  AttributeEdit edit{std::string(device), key, std::nullopt, std::nullopt};
  if (auto done_edit = edit_attributes({edit}, comment, actor); !done_edit) {
    return done_edit.error();
  }
  return device_attributes(device);
}

Outcome<std::shared_ptr<AttributeBatch::Result>> Tailnet::Impl::stage_edits(
    const std::vector<AttributeEdit>& edits, const std::string& comment, const Actor& actor,
    std::function<void(const Done&)> waiter) {
  using Staged = std::shared_ptr<AttributeBatch::Result>;
  if (auto e = check_comment(comment)) return *e;
  std::lock_guard lock(writer);
  const auto snap = engine->snapshot();
  const auto now = self.now();
  std::map<engine::DeviceIndex, AttributeAudit> per_device;
  std::vector<sync::AttributeWrite> writes;
  AttributeStage edit_stage;                 // this request's edits, which its later edits see
  std::map<std::string, std::size_t> added;  // keys this request adds, per device key
  const EditView view{*engine, *snap, overlay, staged, edit_stage};
  for (const auto& edit : edits) {
    if (auto e = check_custom_key(edit.key)) return *e;
    const auto index = snap->find_device(edit.device);
    if (!index) return unknown_device(edit.device);
    const auto& d = snap->device(*index);
    const std::string device_key = sync::device_key(d);
    auto& entry = per_device[*index];
    entry.device_key = device_key;
    entry.hostname = d.hostname;
    const auto old_value = view.value(*index, device_key, edit.key);
    if (edit.value) {
      if (auto e = check_custom_value(*edit.value)) return *e;
      if (edit.expiry && *edit.expiry <= now) {
        return invalid(DiagCode::K806, "`expiry` must be in the future",
                       "omit it (or send 0001-01-01T00:00:00Z) for no expiry");
      }
      if (view.unchanged(device_key, edit)) continue;  // no write, no audit event
      if (!view.stored(device_key, edit.key)) {
        auto& added_here = added[device_key];
        if (auto e = check_room(view.custom_count(device_key) + added_here, d.hostname)) return *e;
        ++added_here;
      }
      if (auto e = check_key_consistency(view, edit.key, *edit.value, old_value)) return *e;
      edit_stage.stage(device_key, edit.key, old_value, {edit.value, true, 0});
      entry.changes.push_back({edit.key, old_value, edit.value, edit.expiry});
      writes.push_back(sync::AttributeWrite{device_key, edit.key, edit.value, "api", edit.expiry});
      continue;
    }
    auto restored = file_value(*index, edit.key);
    if (!view.stored(device_key, edit.key)) {
      if (restored) {
        return conflict(DiagCode::K805,
                        fmt::format("`{}` of `{}` comes from the tailnet inventory file `{}`",
                                    edit.key, d.hostname, self.options_.tailnet_path.value_or("")),
                        "change it in that file");
      }
      continue;  // nothing to delete: deleting is idempotent
    }
    auto shown = restored ? std::optional(restored->value) : std::nullopt;
    edit_stage.stage(device_key, edit.key, old_value, {shown, false, 0});
    entry.changes.push_back({edit.key, old_value, shown, std::nullopt});
    writes.push_back(sync::AttributeWrite{device_key, edit.key, std::nullopt, "api", std::nullopt});
  }
  if (writes.empty()) return Staged{};
  std::vector<AttributeAudit> audits;
  for (auto& [index, entry] : per_device) {
    if (entry.changes.empty()) continue;
    entry.time = now;
    entry.actor = actor.name;
    entry.origin = actor.origin;
    entry.comment = comment;
    audits.push_back(std::move(entry));
  }
  auto batch = join_batch(std::move(writes), std::move(audits), edit_stage);
  if (waiter) open_batch.waiters.push_back(std::move(waiter));
  return batch;
}

Done Tailnet::edit_attributes(const std::vector<AttributeEdit>& edits, const std::string& comment,
                              const Actor& actor) {
  auto staged = impl_->stage_edits(edits, comment, actor, {});
  if (!staged) return staged.error();
  if (!staged.value()) return done();
  return impl_->await_batch(staged.value());
}

void Tailnet::edit_attributes_async(const std::vector<AttributeEdit>& edits,
                                    const std::string& comment, const Actor& actor,
                                    std::function<void(const Done&)> finished) {
  auto staged = impl_->stage_edits(edits, comment, actor, finished);
  if (!staged) return finished(staged.error());
  if (!staged.value()) return finished(done());
  impl_->request_commit();
}

void Tailnet::set_attribute_async(std::string_view device, const std::string& key,
                                  const engine::AttrValue& value,
                                  std::optional<std::int64_t> expiry, const std::string& comment,
                                  const Actor& actor, std::function<void(const Done&)> finished) {
  AttributeEdit edit{std::string(device), key, value, expiry};
  edit_attributes_async({edit}, comment, actor, std::move(finished));
}

void Tailnet::delete_attribute_async(std::string_view device, const std::string& key,
                                     const std::string& comment, const Actor& actor,
                                     std::function<void(const Done&)> finished) {
  AttributeEdit edit{std::string(device), key, std::nullopt, std::nullopt};
  edit_attributes_async({edit}, comment, actor, std::move(finished));
}

std::uint64_t Tailnet::attribute_changes() const noexcept { return impl_->attribute_writes; }

std::size_t Tailnet::advance_time() {
  std::lock_guard lock(impl_->writer);
  return impl_->engine->advance_time(now());
}

Outcome<std::vector<sync::AuditEvent>> Tailnet::audit(const store::AuditQuery& query) const {
  if (!store_) {
    return Error{ErrorKind::NotFound, DiagCode::K821, "no store: the audit log is not kept",
                 "run with --db FILE"};
  }
  auto events = store_->audit_log(query);
  if (!events) return from_sync(events.error());
  return std::move(events.value());
}

}  // namespace postern::control
