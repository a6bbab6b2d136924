#pragma once
// The tailnet inventory (spec inventory.md): users and devices in Tailscale API shapes plus
// per-device posture attributes. Loading is pure: text in, value or errors out (no file I/O).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "postern/grammar/ip.hpp"

namespace postern::engine {

// A posture attribute value: JSON string, number or boolean.
using AttrValue = std::variant<std::string, double, bool>;

struct User {
  std::string login;
  std::string role =
      "member";         // owner, admin, member, network-admin, it-admin, billing-admin, auditor
  bool shared = false;  // users[].type == "shared"
};

struct Device {
  std::string id;
  std::string node_id;
  std::string name;  // FQDN
  std::string hostname;
  std::vector<grammar::ip::Address> addresses;
  std::string user;  // owner login (creator only, for tagged devices)
  std::vector<std::string> tags;
  std::string os;
  std::string client_version;
  std::vector<grammar::ip::Prefix> enabled_routes;
  std::vector<grammar::ip::Prefix> advertised_routes;  // shown by the API only; access uses enabled
  bool is_external = false;
  std::vector<std::string> serial_numbers;
  bool identity_collection_disabled = false;
  // Posture attributes with built-in node:* attributes derived from os/clientVersion when absent.
  std::map<std::string, AttrValue, std::less<>> attributes;
  // Unix seconds at which an attribute expires (is treated as unset).
  std::map<std::string, std::int64_t, std::less<>> expiries;

  [[nodiscard]] bool tagged() const { return !tags.empty(); }
};

struct Inventory {
  std::vector<User> users;
  std::vector<Device> devices;
};

struct InventoryError {
  std::string json_path;  // e.g. "devices[3].addresses[0]"
  std::string message;
};

struct InventoryResult {
  std::optional<Inventory> inventory;  // nullopt when any error (nothing half-loaded)
  std::vector<InventoryError> errors;
};

// Parse an inventory document (JSON text). Unknown fields are ignored.
InventoryResult load_inventory(std::string_view json_text);
// The same without copying the text: its buffer gets (keeps, when reserved beforehand)
// kInventoryPadding spare bytes after the end, which the parser may read past the text.
inline constexpr std::size_t kInventoryPadding = 64;
InventoryResult load_inventory_in_place(std::string& json_text);

// Devices a query names (CLI `--src`/`--dst`, batch lines), by the first tier that matches:
// id or nodeId (exact), then one of its addresses, then FQDN (case-insensitive, trailing dot
// optional), then hostname, then the FQDN's first label (both case-insensitive). Returns the
// indices into `inventory.devices` of every device in that tier: empty = unknown, more than one =
// ambiguous (the caller reports which).
std::vector<std::size_t> find_devices(const Inventory& inventory, std::string_view name);

// The device that owns `address` as one of its own Tailscale addresses (not a route).
std::optional<std::size_t> find_device_by_address(const Inventory& inventory,
                                                  const grammar::ip::Address& address);

// Parse an RFC 3339 timestamp to Unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace postern::engine
