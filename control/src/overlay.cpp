#include "postern/control/overlay.hpp"

#include "postern/sync/matcher.hpp"

namespace postern::control {

std::size_t apply_overlay(engine::Inventory& inventory, const sync::AttributeTable& overlay) {
  std::size_t applied = 0;
  for (auto& device : inventory.devices) {
    const auto it = overlay.find(sync::device_key(device));
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

}  // namespace postern::control
