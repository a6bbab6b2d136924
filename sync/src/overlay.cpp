#include "postern/sync/overlay.hpp"

#include <system_error>

namespace postern::sync {

Result<AttributeTable> load_attribute_overlay(const std::filesystem::path& db_path) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) {
    return SyncError{SyncErrorKind::Store, "no attribute store at `" + db_path.string() + "`"};
  }
  auto store = open_sqlite_store(db_path);
  if (!store) return store.error();
  return store.value()->load_attributes();
}

std::size_t apply_overlay(engine::Inventory& inventory, const AttributeTable& overlay) {
  std::size_t applied = 0;
  for (auto& device : inventory.devices) {
    auto it = overlay.find(device.node_id);
    if (it == overlay.end() || device.node_id.empty()) it = overlay.find(device.id);
    if (it == overlay.end()) continue;
    for (const auto& [key, stored] : it->second) {
      if (key.rfind("node:", 0) == 0) continue;  // built-ins come from the device itself
      device.attributes[key] = stored.value;
      if (stored.expires_at) {
        device.expiries[key] = *stored.expires_at;
      } else {
        device.expiries.erase(key);
      }
      ++applied;
    }
  }
  return applied;
}

}  // namespace postern::sync
