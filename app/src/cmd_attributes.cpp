// `postern attributes DEVICE`: the store's posture attributes for one device; --set/--delete
// manage API-style custom:* attributes.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "command_registry.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/sync/sync_engine.hpp"
#include "sync_cli.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct Options {
  std::string db = std::string(sync::kDefaultDbPath);
  std::string tailnet;
  std::string device;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  std::string expiry;
  std::string actor;
  std::string format = "text";
};

json value_json(const engine::AttrValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

// `custom:key=value`: value parsed as JSON when it is a bool or number, a string otherwise.
std::optional<std::pair<std::string, engine::AttrValue>> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  std::string key = text.substr(0, eq);
  const std::string raw = text.substr(eq + 1);
  if (raw == "true" || raw == "false") return std::make_pair(key, engine::AttrValue{raw == "true"});
  const json parsed = json::parse(raw, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_number()) {
    return std::make_pair(key, engine::AttrValue{parsed.get<double>()});
  }
  if (!parsed.is_discarded() && parsed.is_string()) {
    return std::make_pair(key, engine::AttrValue{parsed.get<std::string>()});
  }
  return std::make_pair(key, engine::AttrValue{raw});
}

int run_attributes(const Options& o) {
  std::string key = o.device;
  std::string label = o.device;
  if (!o.tailnet.empty()) {
    auto inventory = load_tailnet(o.tailnet);
    if (!inventory) {
      print_sync_error("attributes", "C702", inventory.error().message);
      return kExitUsage;
    }
    const auto found = engine::find_devices(inventory.value(), o.device);
    if (found.empty()) {
      print_sync_error("attributes", "C744", "no device `" + o.device + "` in the tailnet");
      return kExitFailed;
    }
    if (found.size() > 1) {
      print_sync_error("attributes", "C744", "`" + o.device + "` names several devices",
                       "use the nodeId or id");
      return kExitFailed;
    }
    const auto& device = inventory.value().devices[found.front()];
    key = sync::device_key(device);
    label = device.hostname.empty() ? key : device.hostname + " (" + key + ")";
  }
  auto store = open_store("attributes", o.db);
  if (!store) return kExitUsage;

  if (!o.set.empty() || !o.remove.empty()) {
    std::optional<std::int64_t> expiry;
    if (!o.expiry.empty()) {
      expiry = engine::parse_rfc3339(o.expiry);
      if (!expiry) {
        print_sync_error("attributes", "C703", "`" + o.expiry + "` is not an RFC 3339 time");
        return kExitUsage;
      }
    }
    auto current = store->device_attributes(key);
    if (!current) {
      print_sync_error("attributes", current.error());
      return kExitUsage;
    }
    std::vector<sync::AttributeWrite> writes;
    json changes = json::array();
    auto check_key = [](const std::string& k) {
      if (k.rfind("custom:", 0) == 0 && k.size() > 7) return true;
      print_sync_error("attributes", "C703",
                       "only custom:* attributes can be set by hand, not `" + k + "`",
                       "kandji:* attributes come from `postern sync`");
      return false;
    };
    for (const auto& text : o.set) {
      auto assignment = parse_assignment(text);
      if (!assignment) {
        print_sync_error("attributes", "C703", "`" + text + "` is not KEY=VALUE");
        return kExitUsage;
      }
      if (!check_key(assignment->first)) return kExitUsage;
      json change{{"key", assignment->first}, {"new", value_json(assignment->second)}};
      if (auto it = current.value().find(assignment->first); it != current.value().end()) {
        change["old"] = value_json(it->second.value);
      }
      changes.push_back(change);
      writes.push_back({key, assignment->first, assignment->second, "api", expiry});
    }
    for (const auto& k : o.remove) {
      if (!check_key(k)) return kExitUsage;
      auto it = current.value().find(k);
      if (it == current.value().end()) continue;
      changes.push_back(json{{"key", k}, {"old", value_json(it->second.value)}});
      writes.push_back({key, k, std::nullopt, "api", std::nullopt});
    }
    const auto now = unix_now();
    std::vector<sync::AuditEvent> events;
    if (!writes.empty()) {
      events.push_back(sync::AuditEvent{0, now, actor_or_default(o.actor), "node:" + key,
                                        std::string(sync::kActionNodeAttribute),
                                        json{{"node", key}, {"changes", changes}}.dump()});
    }
    if (auto written = store->write_attributes(writes, events); !written) {
      print_sync_error("attributes", written.error());
      return kExitFailed;
    }
  }

  auto attrs = store->device_attributes(key);
  if (!attrs) {
    print_sync_error("attributes", attrs.error());
    return kExitUsage;
  }
  if (o.format == "json") {
    json out{{"device", key},
             {"attributes", json::object()},
             {"expiries", json::object()},
             {"sources", json::object()}};
    for (const auto& [k, a] : attrs.value()) {
      out["attributes"][k] = value_json(a.value);
      out["sources"][k] = a.source;
      if (a.expires_at) out["expiries"][k] = sync::format_rfc3339(*a.expires_at);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (attrs.value().empty()) {
    std::cout << label << ": no stored attributes\n";
    return kExitOk;
  }
  std::cout << label << "\n";
  for (const auto& [k, a] : attrs.value()) {
    std::cout << "  " << k << " = " << value_json(a.value).dump() << "  (source " << a.source
              << ", updated " << sync::format_rfc3339(a.updated_at);
    if (a.expires_at) std::cout << ", expires " << sync::format_rfc3339(*a.expires_at);
    std::cout << ")\n";
  }
  return kExitOk;
}

const CommandRegistration kRegistration{
    62, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<Options>();
      auto* cmd = root.add_subcommand(
          "attributes",
          "Show a device's stored posture attributes (synced kandji:*, hand-set custom:*)\n"
          "with source, update time and expiry. DEVICE is a nodeId or id, or with --tailnet\n"
          "any name `postern check` accepts. --set/--delete change custom:* attributes and\n"
          "log an \"Update node attribute\" audit event.");
      cmd->add_option("device", o->device, "Device: nodeId or id (any name with --tailnet)")
          ->required();
      cmd->add_option("--db", o->db, "Attribute store (SQLite; default postern.db)")
          ->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, "Tailnet inventory for name lookups")
          ->type_name("FILE");
      cmd->add_option("--set", o->set, "Set custom:KEY=VALUE (bool, number or string)")
          ->type_name("KEY=VALUE");
      cmd->add_option("--delete", o->remove, "Delete a custom:* attribute")->type_name("KEY");
      cmd->add_option("--expiry", o->expiry, "RFC 3339 expiry for --set values")->type_name("TIME");
      cmd->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      cmd->add_option("--format", o->format, "text (default) or json")
          ->check(CLI::IsMember({"text", "json"}));
      cmd->footer(
          "Examples:\n"
          "  postern attributes carol-mbp --tailnet samples/tailnet.json\n"
          "  postern attributes nB0bLNX0003 --set custom:tier=gold --expiry 2027-06-30T00:00:00Z");
      cmd->callback([o, &exit_code] { exit_code = run_attributes(*o); });
    }};

}  // namespace
}  // namespace postern::app
