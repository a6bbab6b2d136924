// Changes other processes commit to a single-process (SQLite) store reach a running server: the
// CLI's `sync --once`, `attributes --set` and `integrations remove` write the store directly.
#include <fmt/format.h>

#include "postern/control/tailnet.hpp"
#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

bool same_stored(const sync::StoredAttribute& a, const sync::StoredAttribute& b) {
  return a.value == b.value && a.source == b.source && a.expires_at == b.expires_at;
}

// The writes that turn `live` into `stored`: values set or changed, then keys gone.
std::vector<sync::AttributeWrite> difference(const sync::AttributeTable& stored,
                                             const sync::AttributeTable& live) {
  std::vector<sync::AttributeWrite> writes;
  for (const auto& [device, attributes] : stored) {
    const auto held = live.find(device);
    for (const auto& [key, attribute] : attributes) {
      if (held != live.end()) {
        const auto same = held->second.find(key);
        if (same != held->second.end() && same_stored(same->second, attribute)) continue;
      }
      writes.push_back({device, key, attribute.value, attribute.source, attribute.expires_at});
    }
  }
  for (const auto& [device, attributes] : live) {
    const auto kept = stored.find(device);
    for (const auto& [key, attribute] : attributes) {
      if (kept != stored.end() && kept->second.contains(key)) continue;
      writes.push_back({device, key, std::nullopt, attribute.source, std::nullopt});
    }
  }
  return writes;
}

}  // namespace

std::size_t Tailnet::follow_store() {
  if (!store_ || store_->shared()) return 0;
  auto& impl = *impl_;
  std::lock_guard lock(impl.writer);
  const auto stamp = store_->outside_commits();
  if (!stamp) return 0;  // the store cannot be read now: the next tick tries again
  if (impl.outside_stamp == stamp.value()) return 0;
  auto stored = store_->load_attributes();
  if (!stored) return 0;
  impl.outside_stamp = stamp.value();
  const auto writes = difference(stored.value(), impl.overlay);
  if (writes.empty()) return 0;
  impl.apply_writes(writes);
  // The overlay keeps the stored times, as when they were read at start.
  for (const auto& w : writes) {
    if (w.value)
      impl.overlay[w.device][w.key].updated_at = stored.value()[w.device][w.key].updated_at;
  }
  impl.log(LogLevel::info,
           fmt::format("applied {} attribute change(s) another process committed to the store",
                       writes.size()));
  return writes.size();
}

}  // namespace postern::control
