#pragma once
// How a device's FQDN is read when naming it in a query: shared by the name index
// (device_names.cpp) and the linear lookup it must agree with (inventory_lookup.cpp).
#include <string_view>

namespace postern::engine {

// "host.tailnet.ts.net." and "host.tailnet.ts.net" name the same device.
inline std::string_view strip_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// "host" of "host.tailnet.ts.net".
inline std::string_view first_label(std::string_view fqdn) {
  return fqdn.substr(0, fqdn.find('.'));
}

}  // namespace postern::engine
