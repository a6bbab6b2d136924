// `postern attributes DEVICE`: the store's posture attributes for one device; --set/--delete
// manage API-style custom:* attributes.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct AttributesOptions {
  std::string db = std::string(control::kDefaultDbPath);
  std::string tailnet;
  std::string device;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  std::string expiry;
  std::string actor;
  std::string comment;
  std::string format = "text";
};

// `custom:key=value`: value parsed as JSON when it is a bool or number, a string otherwise.
std::optional<std::pair<std::string, engine::AttrValue>> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  std::string key = text.substr(0, eq);
  const std::string raw = text.substr(eq + 1);
  const json parsed = json::parse(raw, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_boolean()) return std::make_pair(key, parsed.get<bool>());
  if (!parsed.is_discarded() && parsed.is_number()) {
    return std::make_pair(key, engine::AttrValue{parsed.get<double>()});
  }
  if (!parsed.is_discarded() && parsed.is_string()) {
    return std::make_pair(key, engine::AttrValue{parsed.get<std::string>()});
  }
  return std::make_pair(key, engine::AttrValue{raw});
}

int print_attributes(const AttributesOptions& o, const control::DeviceAttributesView& view,
                     const std::string& label) {
  if (o.format == "json") {
    json out{{"device", view.device_key},
             {"attributes", json::object()},
             {"expiries", json::object()},
             {"sources", json::object()}};
    for (const auto& a : view.attributes) {
      out["attributes"][a.key] = control::attribute_value_json(a.value);
      out["sources"][a.key] = a.source;
      if (a.expires_at) out["expiries"][a.key] = sync::format_rfc3339(*a.expires_at);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << grammar::printable(label) << "\n";  // a device name its owner chose
  for (const auto& a : view.attributes) {
    std::string line = fmt::format("  {} = {}  (source {}", a.key,
                                   control::attribute_value_json(a.value).dump(), a.source);
    if (a.updated_at) line += fmt::format(", updated {}", sync::format_rfc3339(*a.updated_at));
    if (a.expires_at) line += fmt::format(", expires {}", sync::format_rfc3339(*a.expires_at));
    std::cout << line << ")\n";
  }
  return kExitOk;
}

int run_attributes(const AttributesOptions& o) {
  control::TailnetOptions options;
  options.tailnet_path = o.tailnet;
  options.db = o.db;
  // Reading never creates a store: a mistyped --db is an error, not an empty store.
  options.create_db = !o.set.empty() || !o.remove.empty();
  auto tailnet = open_tailnet("attributes", std::move(options));
  if (!tailnet) return kExitUsage;
  std::optional<std::int64_t> expiry;
  if (!o.expiry.empty()) {
    expiry = engine::parse_rfc3339(o.expiry);
    if (!expiry) {
      print_error("attributes",
                  control::invalid(grammar::DiagCode::C703,
                                   fmt::format("`{}` is not an RFC 3339 time", o.expiry)));
      return kExitUsage;
    }
  }
  std::vector<control::AttributeEdit> edits;
  for (const auto& text : o.set) {
    auto assignment = parse_assignment(text);
    if (!assignment) {
      print_error("attributes", control::invalid(grammar::DiagCode::C703,
                                                 fmt::format("`{}` is not KEY=VALUE", text)));
      return kExitUsage;
    }
    edits.push_back({o.device, assignment->first, assignment->second, expiry});
  }
  for (const auto& key : o.remove) edits.push_back({o.device, key, std::nullopt, std::nullopt});
  if (!edits.empty()) {
    if (auto edited = tailnet->edit_attributes(edits, o.comment, cli_actor(o.actor)); !edited) {
      print_error("attributes", edited.error());
      return exit_code_for(edited.error());
    }
  }
  const auto view = tailnet->device_attributes(o.device);
  if (!view) {
    print_error("attributes", view.error());
    return exit_code_for(view.error());
  }
  const auto& d = tailnet->snapshot()->device(view.value().device);
  const std::string label = d.hostname.empty()
                                ? view.value().device_key
                                : fmt::format("{} ({})", d.hostname, view.value().device_key);
  return print_attributes(o, view.value(), label);
}

const CommandRegistration kAttributesCommand{
    62, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<AttributesOptions>();
      auto* cmd = root.add_subcommand(
          "attributes",
          "Show a device's posture attributes (node:*, the inventory's, synced kandji:*,\n"
          "API-set custom:*) with source, update time and expiry (JSON: sources and expiries).\n"
          "DEVICE is any name\n"
          "`postern check` accepts. --set/--delete change custom:* attributes by the same\n"
          "rules as the API and log an \"Update node attribute\" audit event.");
      cmd->add_option("device", o->device, "Device: hostname, FQDN, id, nodeId or address")
          ->required();
      cmd->add_option("--db", o->db, kDbHelp)->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, "Tailnet inventory the device is looked up in")
          ->required()
          ->type_name("FILE");
      cmd->add_option("--comment", o->comment, "Why (recorded in the audit log, at most 200)");
      auto* set = cmd->add_option("--set", o->set,
                                  "Set KEY=VALUE, KEY a custom: key (value: bool, number or "
                                  "string), e.g. custom:tier=gold")
                      ->type_name("KEY=VALUE");
      cmd->add_option("--delete", o->remove, "Delete a custom:* attribute")->type_name("KEY");
      cmd->add_option("--expiry", o->expiry, "RFC 3339 expiry for --set values")
          ->type_name("TIME")
          ->needs(set);
      cmd->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      cmd->add_option("--format", o->format, "text (default) or json")
          ->check(CLI::IsMember({"text", "json"}));
      cmd->footer(
          "Examples:\n"
          "  postern attributes carol-mbp --tailnet samples/tailnet.json\n"
          "  postern attributes carol-mbp --tailnet samples/tailnet.json --set custom:tier=gold "
          "\\\n"
          "      --expiry 2027-06-30T00:00:00Z");
      cmd->callback([o, &exit_code] { exit_code = run_attributes(*o); });
    }};

}  // namespace
}  // namespace postern::app
