#include "postern/control/device_postures.hpp"

#include <fmt/format.h>

#include "postern/sync/matcher.hpp"

namespace postern::control {

Outcome<DevicePostures> device_postures(const engine::Snapshot& snapshot, std::string_view device) {
  const auto index = snapshot.find_device(device);
  if (!index) {
    return not_found(grammar::DiagCode::C744, fmt::format("no single device is named `{}`", device),
                     "use the device's id, nodeId, address, FQDN or hostname");
  }
  const auto& d = snapshot.device(*index);
  return DevicePostures{*index, sync::device_key(d), d.is_external,
                        snapshot.posture_results(*index, true)};
}

PostureTable posture_table(const engine::Snapshot& snapshot) {
  PostureTable table;
  const auto count = snapshot.device_count();
  table.devices.reserve(count);
  for (engine::DeviceIndex i = 0; i < count; ++i) {
    const auto results = snapshot.posture_results(i, false);
    if (table.postures.empty() && !results.empty()) {
      for (const auto& r : results) table.postures.push_back(r.posture);
    }
    PostureTable::Row row{sync::device_key(snapshot.device(i)), {}, {}};
    snapshot.visit_attributes(i, [&row](const std::string& key, const engine::AttrValue&) {
      row.attributes.push_back(key);
    });
    for (std::uint32_t p = 0; p < results.size(); ++p) {
      if (results[p].pass) row.passing.push_back(p);
    }
    table.devices.push_back(std::move(row));
  }
  return table;
}

}  // namespace postern::control
