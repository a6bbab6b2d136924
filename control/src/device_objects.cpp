// Devices as Tailscale's API shows them, with the list's filters.
#include "postern/control/device_objects.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "postern/grammar/ascii.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;
using nlohmann::json;

// The fields a list can be filtered on: every top-level string, boolean or list field the
// object can carry.
constexpr std::string_view kFilterable[] = {
    "id",   "nodeId", "name",          "hostname",   "addresses",     "user",
    "tags", "os",     "clientVersion", "isExternal", "enabledRoutes", "advertisedRoutes"};

std::string filterable_list() {
  std::string out;
  for (const auto f : kFilterable) out += (out.empty() ? "" : ", ") + std::string(f);
  return out;
}

bool passes(const json& object, const DeviceFilter& filter) {
  const auto it = object.find(filter.field);
  if (it == object.end()) return false;
  if (it->is_array()) {
    return std::any_of(it->begin(), it->end(), [&](const json& v) {
      return v.is_string() && v.get<std::string>() == filter.value;
    });
  }
  if (it->is_boolean()) return (filter.value == "true") == it->get<bool>();
  return it->is_string() && it->get<std::string>() == filter.value;
}

}  // namespace

Outcome<DeviceFields> parse_device_fields(std::optional<std::string_view> text) {
  if (!text) return DeviceFields::Default;
  DeviceFields fields = DeviceFields::Default;
  std::string_view rest = *text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item == "all") {
      fields = DeviceFields::All;
    } else if (item != "default") {
      return invalid(DiagCode::C722,
                     fmt::format("`fields` must be `default` or `all`, got `{}`", *text));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return fields;
}

json device_object(const engine::Device& d, DeviceFields fields) {
  json addresses = json::array();
  for (const auto& a : d.addresses) addresses.push_back(grammar::ip::to_string(a));
  json object = {{"addresses", std::move(addresses)},
                 {"id", d.id},
                 {"nodeId", d.node_id},
                 {"user", d.user},
                 {"name", d.name},
                 {"hostname", d.hostname},
                 {"clientVersion", d.client_version},
                 {"os", d.os},
                 {"isExternal", d.is_external},
                 {"tags", d.tags}};
  if (fields == DeviceFields::All) {
    const auto route_list = [](const std::vector<grammar::ip::Prefix>& routes) {
      json out = json::array();
      for (const auto& r : routes) out.push_back(grammar::ip::to_string(r));
      return out;
    };
    object["enabledRoutes"] = route_list(d.enabled_routes);
    object["advertisedRoutes"] = route_list(d.advertised_routes);
    json identity = json::object();
    if (d.identity_collection_disabled) {
      identity["disabled"] = true;
    } else {
      identity["serialNumbers"] = d.serial_numbers;
    }
    object["postureIdentity"] = std::move(identity);
  }
  return object;
}

Outcome<std::vector<DeviceFilter>> parse_device_filters(
    const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<DeviceFilter> filters;
  for (const auto& [name, value] : query) {
    if (name == "fields") continue;
    const bool known =
        std::find(std::begin(kFilterable), std::end(kFilterable), name) != std::end(kFilterable);
    if (!known) {
      return invalid(DiagCode::C722, fmt::format("cannot filter devices on `{}`", name),
                     fmt::format("filter on one of: {}", filterable_list()));
    }
    if (name == "isExternal" && value != "true" && value != "false") {
      return invalid(DiagCode::C722, fmt::format("`isExternal` is true or false, got `{}`", value));
    }
    filters.push_back(DeviceFilter{name, value});
  }
  return filters;
}

std::vector<json> list_devices(const engine::Inventory& inventory, DeviceFields fields,
                               const std::vector<DeviceFilter>& filters) {
  std::vector<json> out;
  for (const auto& d : inventory.devices) {
    json all = device_object(d, DeviceFields::All);
    const bool kept = std::all_of(filters.begin(), filters.end(),
                                  [&](const DeviceFilter& f) { return passes(all, f); });
    if (!kept) continue;
    out.push_back(fields == DeviceFields::All ? std::move(all)
                                              : device_object(d, DeviceFields::Default));
  }
  return out;
}

std::optional<std::size_t> find_device_by_id(const engine::Inventory& inventory,
                                             std::string_view id) {
  if (id.empty()) return std::nullopt;
  for (std::size_t i = 0; i < inventory.devices.size(); ++i) {
    const auto& d = inventory.devices[i];
    if (d.node_id == id || d.id == id) return i;
  }
  return std::nullopt;
}

std::string tailnet_dns_name(const engine::Inventory& inventory) {
  std::string name;
  for (const auto& d : inventory.devices) {
    std::string_view fqdn = d.name;
    if (!fqdn.empty() && fqdn.back() == '.') fqdn.remove_suffix(1);
    const auto dot = fqdn.find('.');
    if (dot == std::string_view::npos) return {};
    const std::string_view domain = fqdn.substr(dot + 1);
    if (name.empty()) {
      name = std::string(domain);
    } else if (!grammar::ascii_iequals(name, domain)) {
      return {};
    }
  }
  return name;
}

bool names_tailnet(std::string_view given, const engine::Inventory& inventory) {
  if (given == "-") return true;
  const std::string name = tailnet_dns_name(inventory);
  return !name.empty() && grammar::ascii_iequals(given, name);
}

}  // namespace postern::control
