#pragma once
// Devices in the shape of Tailscale's device object (spec tailscale-api.md §2.5), the list's
// `<field>=<value>` filters, and the tailnet's name for `/api/v2/tailnet/{tailnet}/...` paths.
// The object carries what the inventory holds; fields it has no source for are left out (all of
// them are optional in the API).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/control/outcome.hpp"
#include "postern/engine/inventory.hpp"

namespace postern::control {

// `fields=default` leaves out enabledRoutes, advertisedRoutes, clientConnectivity and
// postureIdentity; `fields=all` has every field.
enum class DeviceFields : std::uint8_t { Default, All };

// The `fields` query value: absent, "default" or "all", or a comma list of those ("default,all"
// is all). Anything else is an Invalid error.
Outcome<DeviceFields> parse_device_fields(std::optional<std::string_view> text);

nlohmann::json device_object(const engine::Device& device, DeviceFields fields);

// One `<field>=<value>` filter: a string field equals the value, a boolean field is "true" or
// "false", a list field contains the value. Repeated filters must all hold.
struct DeviceFilter {
  std::string field;
  std::string value;
};

// The filters among query parameters (every name but `fields`); a name that is not a device
// field is an Invalid error naming the fields that can be filtered.
Outcome<std::vector<DeviceFilter>> parse_device_filters(
    const std::vector<std::pair<std::string, std::string>>& query);

// Every device whose object (with all fields) passes every filter, each as `fields` asks.
std::vector<nlohmann::json> list_devices(const engine::Inventory& inventory, DeviceFields fields,
                                         const std::vector<DeviceFilter>& filters);

// The device named by its nodeId or numeric id (the API's {deviceId}); nullopt otherwise.
std::optional<std::size_t> find_device_by_id(const engine::Inventory& inventory,
                                             std::string_view id);

// The tailnet's DNS name: the domain every device FQDN shares after its first label
// ("example-tailnet.ts.net"), or "" when the devices disagree or there are none.
std::string tailnet_dns_name(const engine::Inventory& inventory);

// Does `{tailnet}` in a path name this tailnet? "-" (the credential's tailnet) always does;
// otherwise the DNS name, case-insensitively.
bool names_tailnet(std::string_view given, const engine::Inventory& inventory);

}  // namespace postern::control
