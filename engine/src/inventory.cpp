// Loading the tailnet inventory (spec inventory.md) from Tailscale API shaped JSON. Every problem
// is collected with its JSON path; any error means no inventory at all (nothing half-loaded).
//
// The text is read once, front to back, with simdjson's On-Demand API: no document tree, each
// value is turned straight into the Device fields (docs/decisions.md, "Inventory loader"). Every
// value, including fields the loader ignores, is still read to its end, so malformed JSON
// anywhere is an error as with a full parser. JSON paths are only formatted when reporting.
#include "postern/engine/inventory.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <utility>

#include "postern/grammar/ascii.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::engine {
namespace {

namespace od = simdjson::ondemand;
using simdjson::simdjson_error;

constexpr std::size_t kMaxErrors = 50;
constexpr std::array<std::string_view, 7> kRoles = {
    "owner", "admin", "member", "network-admin", "it-admin", "billing-admin", "auditor"};

// `base["key"]` with the key JSON-escaped, as the paths have always been written.
std::string key_path(std::string_view base, std::string_view key) {
  std::string quoted = "\"";
  for (const char c : key) {
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\b':
        quoted += "\\b";
        break;
      case '\f':
        quoted += "\\f";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          quoted += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          quoted += c;
        }
    }
  }
  return fmt::format("{}[{}\"]", base, quoted);
}

std::string_view type_name(od::json_type type) {
  switch (type) {
    case od::json_type::null:
      return "null";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
  }
  return "an unsupported value";
}

// An attribute key is `namespace:name`, both parts non-empty.
bool valid_attribute_key(std::string_view key) {
  const auto colon = key.find(':');
  return colon != std::string_view::npos && colon > 0 && colon + 1 < key.size();
}

// Nesting past the policy parser's limit (simdjson's On-Demand API does not bound it, and
// skip_value recurses): refused before the stack or simdjson's depth table runs out.
struct TooDeep {};

// Reads a value the loader does not use to its end, so that malformed JSON in it is an error.
// `depth` counts the arrays and objects it is inside of, from the value the caller holds.
void skip_value(od::value value, std::size_t depth = 0) {
  const auto open = [depth] {
    if (depth + 1 >= grammar::hujson::kMaxDepth) throw TooDeep{};
  };
  switch (value.type().value()) {
    case od::json_type::array:
      open();
      for (auto item : value.get_array()) skip_value(item.value(), depth + 1);
      break;
    case od::json_type::object:
      open();
      for (auto field : value.get_object()) {
        (void)field.unescaped_key().value();
        skip_value(field.value(), depth + 1);
      }
      break;
    case od::json_type::number:
      (void)value.get_number().value();
      break;
    case od::json_type::string:
      (void)value.get_string().value();
      break;
    case od::json_type::boolean:
      (void)value.get_bool().value();
      break;
    case od::json_type::null:
      if (!value.is_null().value()) throw simdjson_error(simdjson::N_ATOM_ERROR);
      break;
  }
}

struct AddressHash {
  std::size_t operator()(const grammar::ip::Address& address) const noexcept {
    const std::string_view bytes(reinterpret_cast<const char*>(address.bytes.data()),
                                 address.bytes.size());
    return std::hash<std::string_view>{}(bytes) + (address.v6 ? 1U : 0U);
  }
};

// Where a key was first seen (an item and a position in it), for duplicate checks. Open
// addressing with keys and places inline: no node or key copy per entry, unlike
// std::unordered_map, which was a tenth of the loading time at 100,000 devices.
struct Place {
  std::uint32_t item = 0;      // e.g. the device
  std::uint32_t position = 0;  // e.g. the address in it
};

template <typename Key, typename Hash>
class FirstSeen {
 public:
  void reserve(std::size_t keys) {
    while (keys * 2 > slots_.size()) grow();
  }

  // The place `key` was first seen, or nullopt after recording `place` as its first.
  std::optional<Place> claim(const Key& key, Place place) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = Hash{}(key)&mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        slot = Slot{key, place, true};
        ++size_;
        return std::nullopt;
      }
      if (slot.key == key) return slot.place;
    }
  }

 private:
  struct Slot {
    Key key{};
    Place place{};
    bool used = false;
  };
  void grow() {
    std::vector<Slot> old =
        std::exchange(slots_, std::vector<Slot>(std::max<std::size_t>(16, slots_.size() * 2)));
    size_ = 0;
    for (const auto& slot : old) {
      if (slot.used) claim(slot.key, slot.place);
    }
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

Place place_of(std::size_t item, std::size_t position = 0) {
  return Place{static_cast<std::uint32_t>(item), static_cast<std::uint32_t>(position)};
}

// A JSON path as text, or a function making it: formatted only for an error.
std::string path_text(std::string_view path) { return std::string(path); }
template <std::invocable MakePath>
std::string path_text(const MakePath& make) {
  return make();
}

// A user's fields as read; checked once the object is complete (a user without a login gets
// only that error, whatever order its fields came in).
struct UserFields {
  std::optional<od::json_type> login_type, role_type, type_type;
  std::string login, role, type;
};

class Loader {
 public:
  InventoryResult run(std::string_view text) {
    const simdjson::padded_string padded(text);
    return run_padded(padded);
  }

  // `padded` has simdjson's padding after its end (readable, never read as text).
  InventoryResult run_padded(simdjson::padded_string_view padded) {
    od::parser parser;
    od::document doc;
    if (const auto error = parser.iterate(padded).get(doc); error != simdjson::SUCCESS) {
      fail("", fmt::format("invalid JSON: {}{}", simdjson::error_message(error),
                           ends_early(error) ? end_of(padded) : std::string()));
      return finish();
    }
    try {
      read_root(doc);
      check_unique_ids();
    } catch (const simdjson_error& e) {
      errors_.clear();  // a syntax error makes every other finding moot, as before
      fail("", fmt::format("invalid JSON: {}{}", e.what(),
                           ends_early(e.error()) ? end_of(padded) : location_of(padded, doc)));
    } catch (const TooDeep&) {
      errors_.clear();
      fail("", fmt::format("arrays and objects nested deeper than {} levels{}",
                           grammar::hujson::kMaxDepth, location_of(padded, doc)));
    }
    return finish();
  }

 private:
  void fail(std::string path, std::string message) {
    if (errors_.size() < kMaxErrors) errors_.push_back({std::move(path), std::move(message)});
  }

  void wrong_type(std::string path, std::string_view want, od::json_type found) {
    fail(std::move(path), fmt::format("expected {}, found {}", want, type_name(found)));
  }

  // A truncated file: simdjson names no place (or the first byte), the place is the end.
  static bool ends_early(simdjson::error_code error) {
    return error == simdjson::INCOMPLETE_ARRAY_OR_OBJECT || error == simdjson::UNCLOSED_STRING;
  }
  static std::string end_of(simdjson::padded_string_view padded) {
    const auto [line, column] = line_column(padded, padded.size());
    return fmt::format(" (the text ends at line {}, column {}: is the file cut short?)", line,
                       column);
  }

  // " (near line L, column C)" where reading stopped, when simdjson can tell.
  static std::string location_of(simdjson::padded_string_view padded, od::document& doc) {
    const auto at = doc.current_location();
    if (at.error() != simdjson::SUCCESS) return {};
    const auto offset = static_cast<std::size_t>(at.value_unsafe() - padded.data());
    if (offset > padded.size()) return {};
    const auto [line, column] = line_column(padded, offset);
    return fmt::format(" (near line {}, column {})", line, column);
  }

  // 1-based line and byte column of `offset`.
  static std::pair<std::size_t, std::size_t> line_column(simdjson::padded_string_view padded,
                                                         std::size_t offset) {
    const std::string_view before(padded.data(), offset);
    const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const auto line_start = before.rfind('\n');
    const auto column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return {line, column};
  }

  void read_root(od::document& doc) {
    const od::json_type type = doc.type();
    if (type != od::json_type::object) {
      fail("",
           fmt::format("expected an object with `users` and `devices`, found {}", type_name(type)));
      return;
    }
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      od::value value = field.value();
      if (key == "users") {
        read_users(value);
      } else if (key == "devices") {
        read_devices(value);
      } else {
        skip_value(value);
      }
    }
    // Past the root object, only the end of the document may follow.
    if (doc.current_location().error() == simdjson::SUCCESS) {
      throw simdjson_error(simdjson::TRAILING_CONTENT);
    }
  }

  // Null or absent arrays are empty; anything but an array is an error (and skipped).
  template <typename Path, typename EachItem>
  void read_array(od::value value, const Path& path, std::string_view want, EachItem&& each_item) {
    const od::json_type type = value.type();
    if (type == od::json_type::null) return skip_value(value);
    if (type != od::json_type::array) {
      wrong_type(path_text(path), want, type);
      return skip_value(value);
    }
    std::size_t index = 0;
    for (auto item : value.get_array()) each_item(od::value(item.value()), index++);
  }

  // A string member: anything but a string is an error (and leaves `out` empty).
  void read_string(od::value value, std::string_view base, std::string_view key, std::string& out) {
    const od::json_type type = value.type();
    if (type != od::json_type::string) {
      wrong_type(fmt::format("{}.{}", base, key), "a string", type);
      out.clear();
      return skip_value(value);
    }
    out = std::string_view(value.get_string());
  }

  bool read_bool(od::value value, std::string_view base, std::string_view key) {
    const od::json_type type = value.type();
    if (type != od::json_type::boolean) {
      wrong_type(fmt::format("{}.{}", base, key), "a boolean", type);
      skip_value(value);
      return false;
    }
    return value.get_bool();
  }

  std::vector<std::string> read_strings(od::value value, std::string_view base,
                                        std::string_view key) {
    std::vector<std::string> out;
    const auto path = [&] { return fmt::format("{}.{}", base, key); };
    read_array(value, path, "an array of strings", [&](od::value item, std::size_t i) {
      const od::json_type type = item.type();
      if (type != od::json_type::string) {
        wrong_type(fmt::format("{}[{}]", path(), i), "a string", type);
        return skip_value(item);
      }
      out.emplace_back(std::string_view(item.get_string()));
    });
    return out;
  }

  // ---- users ----

  void read_users(od::value users) {
    read_array(users, std::string_view("users"), "an array of users",
               [&](od::value object, std::size_t i) {
                 const od::json_type type = object.type();
                 if (type != od::json_type::object) {
                   wrong_type(fmt::format("users[{}]", i), "a user object", type);
                   return skip_value(object);
                 }
                 UserFields fields;
                 for (auto field : object.get_object()) {
                   const std::string_view key = field.unescaped_key();
                   od::value value = field.value();
                   if (key == "loginName") {
                     read_user_string(value, fields.login_type, fields.login);
                   } else if (key == "role") {
                     read_user_string(value, fields.role_type, fields.role);
                   } else if (key == "type") {
                     read_user_string(value, fields.type_type, fields.type);
                   } else {
                     skip_value(value);
                   }
                 }
                 check_user(fields, fmt::format("users[{}]", i), i);
               });
  }

  static void read_user_string(od::value value, std::optional<od::json_type>& type,
                               std::string& out) {
    type = value.type();
    if (*type == od::json_type::string) {
      out = std::string_view(value.get_string());
    } else {
      out.clear();
      skip_value(value);
    }
  }

  void check_user(UserFields& fields, const std::string& path, std::size_t index) {
    if (fields.login_type && *fields.login_type != od::json_type::string) {
      wrong_type(path + ".loginName", "a string", *fields.login_type);
    }
    if (fields.login.empty()) {
      if (!fields.login_type || *fields.login_type == od::json_type::string) {
        fail(path + ".loginName", "a user needs a non-empty `loginName`");
      }
      return;
    }
    User user;
    user.login = std::move(fields.login);
    if (const auto [it, inserted] = user_index_.emplace(user.login, index); !inserted) {
      fail(path + ".loginName",
           fmt::format("duplicate user `{}` (also users[{}])", user.login, it->second));
    }
    if (fields.role_type) {
      if (*fields.role_type != od::json_type::string) {
        wrong_type(path + ".role", "a string", *fields.role_type);
      }
      user.role = std::move(fields.role);
      if (std::find(kRoles.begin(), kRoles.end(), user.role) == kRoles.end()) {
        fail(path + ".role", fmt::format("unknown role `{}` (expected owner, admin, member, "
                                         "network-admin, it-admin, billing-admin or auditor)",
                                         user.role));
      }
    }
    if (fields.type_type && *fields.type_type != od::json_type::string) {
      wrong_type(path + ".type", "a string", *fields.type_type);
    }
    const std::string type = fields.type_type ? fields.type : "member";
    if (type == "shared") {
      user.shared = true;
    } else if (type != "member") {
      fail(path + ".type", fmt::format("unknown user type `{}` (expected member or shared)", type));
    }
    inventory_.users.push_back(std::move(user));
  }

  // ---- devices ----

  void read_devices(od::value devices) {
    read_array(devices, std::string_view("devices"), "an array of devices",
               [&](od::value object, std::size_t i) {
                 const od::json_type type = object.type();
                 const std::string path = fmt::format("devices[{}]", i);
                 if (type != od::json_type::object) {
                   wrong_type(path, "a device object", type);
                   return skip_value(object);
                 }
                 device_index_ = i;
                 read_device(object, path, i);
               });
  }

  void read_device(od::value object, const std::string& path, std::size_t index) {
    Device device;
    for (auto field : object.get_object()) {
      const std::string_view key = field.unescaped_key();
      read_device_field(device, key, field.value(), path);
    }
    if (device.id.empty() && device.node_id.empty() && device.name.empty() &&
        device.hostname.empty()) {
      fail(path, "a device needs at least one of `id`, `nodeId`, `name` or `hostname`");
    }
    derive_builtins(device);
    inventory_.devices.push_back(std::move(device));
    json_index_.push_back(static_cast<std::uint32_t>(index));
  }

  // Identifiers must be unique across devices: queries name devices by them. Checked once every
  // device is in place, so that the table holds views of their ids instead of copies.
  void check_unique_ids() {
    const auto& devices = inventory_.devices;
    FirstSeen<std::string_view, std::hash<std::string_view>> ids, node_ids;
    ids.reserve(devices.size());
    node_ids.reserve(devices.size());
    for (std::size_t d = 0; d < devices.size(); ++d) {
      claim(ids, devices[d].id, json_index_[d], "id", "device id");
      claim(node_ids, devices[d].node_id, json_index_[d], "nodeId", "device nodeId");
    }
  }

  void claim(FirstSeen<std::string_view, std::hash<std::string_view>>& seen, std::string_view value,
             std::size_t device, std::string_view field, std::string_view what) {
    if (value.empty()) return;
    if (const auto first = seen.claim(value, place_of(device))) {
      fail(fmt::format("devices[{}].{}", device, field),
           fmt::format("duplicate {} `{}` (also devices[{}].{})", what, value, first->item, field));
    }
  }

  void read_device_field(Device& device, std::string_view key, od::value value,
                         const std::string& path) {
    if (key == "id") return read_string(value, path, key, device.id);
    if (key == "nodeId") return read_string(value, path, key, device.node_id);
    if (key == "name") return read_string(value, path, key, device.name);
    if (key == "hostname") return read_string(value, path, key, device.hostname);
    if (key == "user") return read_string(value, path, key, device.user);
    if (key == "os") return read_string(value, path, key, device.os);
    if (key == "clientVersion") return read_string(value, path, key, device.client_version);
    if (key == "isExternal") {
      device.is_external = read_bool(value, path, key);
    } else if (key == "addresses") {
      read_addresses(value, path, device);
    } else if (key == "tags") {
      read_tags(value, path, device);
    } else if (key == "enabledRoutes") {
      read_routes(value, path, key, device.enabled_routes);
    } else if (key == "advertisedRoutes") {
      read_routes(value, path, key, device.advertised_routes);
    } else if (key == "postureIdentity") {
      read_identity(value, path, device);
    } else if (key == "attributes") {
      read_attributes(value, path, device);
    } else if (key == "expiries") {
      read_expiries(value, path, device);
    } else {
      skip_value(value);
    }
  }

  void read_addresses(od::value value, const std::string& path, Device& device) {
    const auto texts = read_strings(value, path, "addresses");
    const std::size_t index = device_index_;
    for (std::size_t a = 0; a < texts.size(); ++a) {
      const auto address = grammar::ip::parse_address(texts[a]);
      const auto apath = [&] { return fmt::format("{}.addresses[{}]", path, a); };
      if (!address) {
        fail(apath(), fmt::format("`{}` is not an IP address", texts[a]));
        continue;
      }
      if (const auto first = addresses_.claim(*address, place_of(index, a))) {
        fail(apath(), fmt::format("duplicate address `{}` (also devices[{}].addresses[{}])",
                                  grammar::ip::to_string(*address), first->item, first->position));
      }
      device.addresses.push_back(*address);
    }
  }

  void read_tags(od::value value, const std::string& path, Device& device) {
    device.tags = read_strings(value, path, "tags");
    for (std::size_t t = 0; t < device.tags.size(); ++t) {
      const auto& tag = device.tags[t];
      if (tag.rfind("tag:", 0) != 0 || tag.size() == 4) {
        fail(fmt::format("{}.tags[{}]", path, t),
             fmt::format("`{}` is not a tag (tags start with `tag:`)", tag));
      }
    }
  }

  void read_routes(od::value value, const std::string& path, std::string_view key,
                   std::vector<grammar::ip::Prefix>& out) {
    const auto routes = read_strings(value, path, key);
    for (std::size_t r = 0; r < routes.size(); ++r) {
      const auto prefix = grammar::ip::parse_prefix(routes[r]);
      if (!prefix) {
        fail(fmt::format("{}.{}[{}]", path, key, r),
             fmt::format("`{}` is not a CIDR prefix", routes[r]));
        continue;
      }
      out.push_back(*prefix);
    }
  }

  // Null or absent objects are empty; anything else but an object is an error (and skipped).
  template <typename Path>
  bool expect_object(od::value& value, const Path& path, std::string_view want) {
    const od::json_type type = value.type();
    if (type == od::json_type::object) return true;
    if (type != od::json_type::null) wrong_type(path_text(path), want, type);
    skip_value(value);
    return false;
  }

  void read_identity(od::value value, const std::string& path, Device& device) {
    const std::string ipath = path + ".postureIdentity";
    if (!expect_object(value, ipath, "an object")) return;
    for (auto field : value.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "serialNumbers") {
        device.serial_numbers = read_strings(field.value(), ipath, key);
      } else if (key == "disabled") {
        device.identity_collection_disabled = read_bool(field.value(), ipath, key);
      } else {
        skip_value(field.value());
      }
    }
  }

  void read_attributes(od::value value, const std::string& path, Device& device) {
    const auto apath = [&] { return path + ".attributes"; };
    if (!expect_object(value, apath, "an object of attributes")) return;
    for (auto field : value.get_object()) {
      const std::string_view key = field.unescaped_key();
      od::value item = field.value();
      if (!valid_attribute_key(key)) {
        fail(key_path(apath(), key),
             fmt::format("`{}` is not an attribute key (expected `namespace:name`)", key));
        skip_value(item);
        continue;
      }
      switch (const od::json_type type = item.type()) {
        case od::json_type::string:
          device.attributes.insert_or_assign(std::string(key),
                                             std::string(std::string_view(item.get_string())));
          break;
        case od::json_type::boolean:
          device.attributes.insert_or_assign(std::string(key), bool(item.get_bool()));
          break;
        case od::json_type::number: {
          std::string_view token = item.raw_json_token();
          token = token.substr(0, token.find_last_not_of(" \t\n\r") + 1);  // may end in spaces
          // get_double checks and consumes the number; its value comes from the text, as simdjson
          // 3.0.1 misreads a fraction of more than 19 digits (its issue 2093).
          (void)double(item.get_double());
          device.attributes.insert_or_assign(std::string(key),
                                             grammar::hujson::number_value(token));
          break;
        }
        default:
          fail(key_path(apath(), key),
               fmt::format("attribute values must be strings, numbers or booleans, found {}",
                           type_name(type)));
          skip_value(item);
      }
    }
  }

  void read_expiries(od::value value, const std::string& path, Device& device) {
    const auto epath = [&] { return path + ".expiries"; };
    if (!expect_object(value, epath, "an object of expiry times")) return;
    for (auto field : value.get_object()) {
      const std::string_view key = field.unescaped_key();
      od::value item = field.value();
      if (!valid_attribute_key(key)) {
        fail(key_path(epath(), key),
             fmt::format("`{}` is not an attribute key (expected `namespace:name`)", key));
        skip_value(item);
        continue;
      }
      const od::json_type type = item.type();
      if (type != od::json_type::string) {
        wrong_type(key_path(epath(), key), "an RFC 3339 time string", type);
        skip_value(item);
        continue;
      }
      const std::string_view text = item.get_string();
      const auto when = parse_rfc3339(text);
      if (!when) {
        fail(key_path(epath(), key),
             fmt::format("`{}` is not an RFC 3339 time (e.g. `2027-01-01T00:00:00Z`)", text));
        continue;
      }
      device.expiries.insert_or_assign(std::string(key), *when);
    }
  }

  // Built-in node:* attributes come from the API fields unless `attributes` already has them.
  static void derive_builtins(Device& device) {
    if (!device.os.empty() && !device.attributes.contains("node:os")) {
      device.attributes.emplace("node:os", grammar::ascii_lowered(device.os));
    }
    if (!device.client_version.empty() && !device.attributes.contains("node:tsVersion")) {
      device.attributes.emplace("node:tsVersion",
                                device.client_version.substr(0, device.client_version.find('-')));
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
  std::unordered_map<std::string, std::size_t> user_index_;
  FirstSeen<grammar::ip::Address, AddressHash> addresses_;
  std::vector<std::uint32_t> json_index_;  // each device's place in the JSON `devices` array
  std::size_t device_index_ = 0;           // of the device being read, in `devices[i]` paths
};

}  // namespace

namespace {

template <typename Run>
InventoryResult load_safely(Run&& run) {
  try {
    return run();
  } catch (const std::exception& e) {
    // bad_alloc and the like: never half-load.
    InventoryResult result;
    result.errors.push_back({"", fmt::format("cannot read inventory: {}", e.what())});
    return result;
  }
}

}  // namespace

InventoryResult load_inventory(std::string_view json_text) {
  return load_safely([&] { return Loader().run(json_text); });
}

static_assert(kInventoryPadding >= simdjson::SIMDJSON_PADDING,
              "the in-place parse needs simdjson's padding after the text");

InventoryResult load_inventory_in_place(std::string& json_text) {
  return load_safely([&] {
    json_text.reserve(json_text.size() + kInventoryPadding);
    return Loader().run_padded(
        simdjson::padded_string_view(json_text.data(), json_text.size(), json_text.capacity()));
  });
}

}  // namespace postern::engine
