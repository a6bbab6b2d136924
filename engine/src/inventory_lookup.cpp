// Naming devices in queries: ids, addresses, FQDN, hostname, first label (spec inventory.md).
#include <algorithm>
#include <functional>
#include <string>

#include "device_naming.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::engine {
namespace {

std::vector<std::size_t> matching(const Inventory& inventory,
                                  const std::function<bool(const Device&)>& predicate) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < inventory.devices.size(); ++i) {
    if (predicate(inventory.devices[i])) out.push_back(i);
  }
  return out;
}

}  // namespace

std::vector<std::size_t> find_devices(const Inventory& inventory, std::string_view name) {
  if (name.empty()) return {};
  auto found =
      matching(inventory, [&](const Device& d) { return d.id == name || d.node_id == name; });
  if (!found.empty()) return found;

  std::string_view bare = name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  if (const auto address = grammar::ip::parse_address(bare)) {
    if (const auto index = find_device_by_address(inventory, *address)) return {*index};
    return {};
  }

  const std::string_view fqdn = strip_trailing_dot(name);
  found = matching(inventory, [&](const Device& d) {
    return !d.name.empty() && grammar::ascii_iequals(strip_trailing_dot(d.name), fqdn);
  });
  if (!found.empty()) return found;
  found = matching(inventory, [&](const Device& d) {
    return !d.hostname.empty() && grammar::ascii_iequals(d.hostname, name);
  });
  if (!found.empty()) return found;
  return matching(inventory, [&](const Device& d) {
    return !d.name.empty() && grammar::ascii_iequals(first_label(d.name), name);
  });
}

std::optional<std::size_t> find_device_by_address(const Inventory& inventory,
                                                  const grammar::ip::Address& address) {
  for (std::size_t i = 0; i < inventory.devices.size(); ++i) {
    const auto& addresses = inventory.devices[i].addresses;
    if (std::find(addresses.begin(), addresses.end(), address) != addresses.end()) return i;
  }
  return std::nullopt;
}

}  // namespace postern::engine
