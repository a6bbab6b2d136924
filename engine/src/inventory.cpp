// Loading the tailnet inventory (spec inventory.md) from Tailscale API shaped JSON. Every problem
// is collected with its JSON path; any error means no inventory at all (nothing half-loaded).
#include "postern/engine/inventory.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace postern::engine {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxErrors = 50;
constexpr std::array<std::string_view, 7> kRoles = {
    "owner", "admin", "member", "network-admin", "it-admin", "billing-admin", "auditor"};

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string index_path(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

std::string key_path(const std::string& base, const std::string& key) {
  return base + "[" + Json(key).dump() + "]";
}

std::string_view type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

// An attribute key is `namespace:name`, both parts non-empty.
bool valid_attribute_key(std::string_view key) {
  const auto colon = key.find(':');
  return colon != std::string_view::npos && colon > 0 && colon + 1 < key.size();
}

class Loader {
 public:
  InventoryResult run(std::string_view text) {
    Json root;
    try {
      root = Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
      // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, ...".
      std::string message = e.what();
      if (const auto bracket = message.find("] "); bracket != std::string::npos) {
        message.erase(0, bracket + 2);
      }
      fail("", "invalid JSON: " + message);
      return finish();
    }
    if (!root.is_object()) {
      fail("", std::string("expected an object with `users` and `devices`, found ") +
                   std::string(type_name(root)));
      return finish();
    }
    if (const auto it = root.find("users"); it != root.end()) load_users(*it);
    if (const auto it = root.find("devices"); it != root.end()) load_devices(*it);
    return finish();
  }

 private:
  void fail(std::string path, std::string message) {
    if (errors_.size() < kMaxErrors) errors_.push_back({std::move(path), std::move(message)});
  }

  bool expect_type(const Json& value, const std::string& path, bool ok, std::string_view want) {
    if (!ok) {
      fail(path, "expected " + std::string(want) + ", found " + std::string(type_name(value)));
    }
    return ok;
  }

  // Optional string member: absent is fine, anything but a string is an error.
  std::string get_string(const Json& object, const std::string& base, const char* key) {
    const auto it = object.find(key);
    if (it == object.end()) return {};
    if (!expect_type(*it, base + "." + key, it->is_string(), "a string")) return {};
    return it->get<std::string>();
  }

  bool get_bool(const Json& object, const std::string& base, const char* key) {
    const auto it = object.find(key);
    if (it == object.end()) return false;
    if (!expect_type(*it, base + "." + key, it->is_boolean(), "a boolean")) return false;
    return it->get<bool>();
  }

  std::vector<std::string> get_strings(const Json& object, const std::string& base,
                                       const char* key) {
    std::vector<std::string> out;
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return out;
    const std::string path = base + "." + key;
    if (!expect_type(*it, path, it->is_array(), "an array of strings")) return out;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      if (expect_type(item, index_path(path, i), item.is_string(), "a string")) {
        out.push_back(item.get<std::string>());
      }
    }
    return out;
  }

  void load_users(const Json& users) {
    if (users.is_null()) return;
    if (!expect_type(users, "users", users.is_array(), "an array of users")) return;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < users.size(); ++i) {
      const std::string path = index_path("users", i);
      const Json& object = users[i];
      if (!expect_type(object, path, object.is_object(), "a user object")) continue;
      User user;
      const auto login = object.find("loginName");
      user.login = get_string(object, path, "loginName");
      if (user.login.empty()) {
        if (login == object.end() || login->is_string()) {
          fail(path + ".loginName", "a user needs a non-empty `loginName`");
        }
        continue;
      }
      if (const auto [it, inserted] = seen.emplace(user.login, i); !inserted) {
        fail(path + ".loginName", "duplicate user `" + user.login + "` (also users[" +
                                      std::to_string(it->second) + "])");
      }
      if (object.contains("role")) {
        user.role = get_string(object, path, "role");
        if (std::find(kRoles.begin(), kRoles.end(), user.role) == kRoles.end()) {
          fail(path + ".role", "unknown role `" + user.role +
                                   "` (expected owner, admin, member, network-admin, it-admin, "
                                   "billing-admin or auditor)");
        }
      }
      const std::string type =
          object.contains("type") ? get_string(object, path, "type") : "member";
      if (type == "shared") {
        user.shared = true;
      } else if (type != "member") {
        fail(path + ".type", "unknown user type `" + type + "` (expected member or shared)");
      }
      inventory_.users.push_back(std::move(user));
    }
  }

  void load_devices(const Json& devices) {
    if (devices.is_null()) return;
    if (!expect_type(devices, "devices", devices.is_array(), "an array of devices")) return;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const std::string path = index_path("devices", i);
      const Json& object = devices[i];
      if (!expect_type(object, path, object.is_object(), "a device object")) continue;
      load_device(object, path);
    }
  }

  // Identifiers must be unique across devices: queries name devices by them.
  void claim(std::map<std::string, std::string>& seen, const std::string& value,
             const std::string& path, std::string_view what) {
    if (value.empty()) return;
    if (const auto [it, inserted] = seen.emplace(value, path); !inserted) {
      fail(path, "duplicate " + std::string(what) + " `" + value + "` (also " + it->second + ")");
    }
  }

  void load_device(const Json& object, const std::string& path) {
    Device device;
    device.id = get_string(object, path, "id");
    device.node_id = get_string(object, path, "nodeId");
    device.name = get_string(object, path, "name");
    device.hostname = get_string(object, path, "hostname");
    if (device.id.empty() && device.node_id.empty() && device.name.empty() &&
        device.hostname.empty()) {
      fail(path, "a device needs at least one of `id`, `nodeId`, `name` or `hostname`");
    }
    claim(ids_, device.id, path + ".id", "device id");
    claim(node_ids_, device.node_id, path + ".nodeId", "device nodeId");

    const auto addresses = get_strings(object, path, "addresses");
    for (std::size_t a = 0; a < addresses.size(); ++a) {
      const std::string apath = index_path(path + ".addresses", a);
      const auto address = grammar::ip::parse_address(addresses[a]);
      if (!address) {
        fail(apath, "`" + addresses[a] + "` is not an IP address");
        continue;
      }
      claim(addresses_, grammar::ip::to_string(*address), apath, "address");
      device.addresses.push_back(*address);
    }

    device.user = get_string(object, path, "user");
    device.tags = get_strings(object, path, "tags");
    for (std::size_t t = 0; t < device.tags.size(); ++t) {
      const auto& tag = device.tags[t];
      if (tag.rfind("tag:", 0) != 0 || tag.size() == 4) {
        fail(index_path(path + ".tags", t), "`" + tag + "` is not a tag (tags start with `tag:`)");
      }
    }
    device.os = get_string(object, path, "os");
    device.client_version = get_string(object, path, "clientVersion");

    const auto routes = get_strings(object, path, "enabledRoutes");
    for (std::size_t r = 0; r < routes.size(); ++r) {
      const auto prefix = grammar::ip::parse_prefix(routes[r]);
      if (!prefix) {
        fail(index_path(path + ".enabledRoutes", r), "`" + routes[r] + "` is not a CIDR prefix");
        continue;
      }
      device.enabled_routes.push_back(*prefix);
    }
    device.is_external = get_bool(object, path, "isExternal");
    load_identity(object, path, device);
    load_attributes(object, path, device);
    load_expiries(object, path, device);
    derive_builtins(device);
    inventory_.devices.push_back(std::move(device));
  }

  void load_identity(const Json& object, const std::string& path, Device& device) {
    const auto it = object.find("postureIdentity");
    if (it == object.end() || it->is_null()) return;
    const std::string ipath = path + ".postureIdentity";
    if (!expect_type(*it, ipath, it->is_object(), "an object")) return;
    device.serial_numbers = get_strings(*it, ipath, "serialNumbers");
    device.identity_collection_disabled = get_bool(*it, ipath, "disabled");
  }

  void load_attributes(const Json& object, const std::string& path, Device& device) {
    const auto it = object.find("attributes");
    if (it == object.end() || it->is_null()) return;
    const std::string apath = path + ".attributes";
    if (!expect_type(*it, apath, it->is_object(), "an object of attributes")) return;
    for (const auto& [key, value] : it->items()) {
      const std::string kpath = key_path(apath, key);
      if (!valid_attribute_key(key)) {
        fail(kpath, "`" + key + "` is not an attribute key (expected `namespace:name`)");
        continue;
      }
      if (value.is_string()) {
        device.attributes[key] = value.get<std::string>();
      } else if (value.is_boolean()) {
        device.attributes[key] = value.get<bool>();
      } else if (value.is_number()) {
        device.attributes[key] = value.get<double>();
      } else {
        fail(kpath, "attribute values must be strings, numbers or booleans, found " +
                        std::string(type_name(value)));
      }
    }
  }

  void load_expiries(const Json& object, const std::string& path, Device& device) {
    const auto it = object.find("expiries");
    if (it == object.end() || it->is_null()) return;
    const std::string epath = path + ".expiries";
    if (!expect_type(*it, epath, it->is_object(), "an object of expiry times")) return;
    for (const auto& [key, value] : it->items()) {
      const std::string kpath = key_path(epath, key);
      if (!valid_attribute_key(key)) {
        fail(kpath, "`" + key + "` is not an attribute key (expected `namespace:name`)");
        continue;
      }
      if (!expect_type(value, kpath, value.is_string(), "an RFC 3339 time string")) continue;
      const auto when = parse_rfc3339(value.get<std::string>());
      if (!when) {
        fail(kpath, "`" + value.get<std::string>() +
                        "` is not an RFC 3339 time (e.g. `2027-01-01T00:00:00Z`)");
        continue;
      }
      device.expiries[key] = *when;
    }
  }

  // Built-in node:* attributes come from the API fields unless `attributes` already has them.
  static void derive_builtins(Device& device) {
    if (!device.os.empty() && !device.attributes.contains("node:os")) {
      device.attributes["node:os"] = lower_ascii(device.os);
    }
    if (!device.client_version.empty() && !device.attributes.contains("node:tsVersion")) {
      device.attributes["node:tsVersion"] =
          device.client_version.substr(0, device.client_version.find('-'));
    }
  }

  InventoryResult finish() {
    InventoryResult result;
    result.errors = std::move(errors_);
    if (result.errors.empty()) result.inventory = std::move(inventory_);
    return result;
  }

  Inventory inventory_;
  std::vector<InventoryError> errors_;
  std::map<std::string, std::string> ids_, node_ids_, addresses_;
};

}  // namespace

InventoryResult load_inventory(std::string_view json_text) {
  try {
    return Loader().run(json_text);
  } catch (const std::exception& e) {
    // nlohmann throws only on misuse or invalid UTF-8 while dumping keys; never half-load.
    InventoryResult result;
    result.errors.push_back({"", std::string("cannot read inventory: ") + e.what()});
    return result;
  }
}

}  // namespace postern::engine
