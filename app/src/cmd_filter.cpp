// `postern filter --policy P --tailnet T --node N`: the packet filter (tailcfg FilterRules) the
// control plane would send to one node, with posture-failing sources left out (spec §7.6).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command_registry.hpp"
#include "engine_loading.hpp"

namespace postern::app {
namespace {

struct FilterOptions {
  std::string policy;
  std::string tailnet;
  std::string db;
  std::string node;
};

int run_filter(const FilterOptions& o) {
  auto le = load_engine("filter", o.policy, o.tailnet, o.db);
  if (!le) return kExitUsage;
  const auto snap = le->engine->snapshot();
  const auto found = engine::find_devices(snap->inventory(), o.node);
  if (found.size() != 1) {
    std::cerr << "postern filter: error[C721]: "
              << (found.empty() ? "unknown node `" + o.node + "`"
                                : "`" + o.node + "` names several devices; use an id or FQDN")
              << "\n";
    return kExitUsage;
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : snap->filter_for(static_cast<engine::DeviceIndex>(found[0]))) {
    nlohmann::json dst = nlohmann::json::array();
    for (const auto& d : r.dst_ports) {
      dst.push_back({{"IP", d.ip}, {"Ports", {{"First", d.ports.first}, {"Last", d.ports.last}}}});
    }
    nlohmann::json rule = {{"SrcIPs", r.src_ips}, {"DstPorts", dst}};
    if (!r.ip_proto.empty()) rule["IPProto"] = r.ip_proto;
    rules.push_back(std::move(rule));
  }
  std::cout << rules.dump(2) << "\n";
  return kExitOk;
}

const CommandRegistration kRegistration{
    40, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<FilterOptions>();
      auto* cmd = root.add_subcommand(
          "filter",
          "Print the packet filter Tailscale's control plane would send to one node: a JSON\n"
          "list of tailcfg FilterRules (SrcIPs, DstPorts{IP, Ports{First, Last}}, IPProto),\n"
          "with source nodes that fail the rule's posture left out of SrcIPs.");
      cmd->add_option("--policy", o->policy, "Policy file (HuJSON)")->required()->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, "Tailnet inventory (spec/inventory.md)")
          ->required()
          ->type_name("FILE");
      cmd->add_option("--db", o->db,
                      "Attribute store (SQLite): laid over the inventory's attributes")
          ->type_name("FILE");
      cmd->add_option("--node", o->node, "The node: hostname, FQDN, id, nodeId or address")
          ->required()
          ->type_name("NODE");
      cmd->footer(
          "Example:\n"
          "  postern filter --policy samples/policy.hujson --tailnet samples/tailnet.json "
          "--node db-1");
      cmd->callback([o, &exit_code] { exit_code = run_filter(*o); });
    }};

}  // namespace
}  // namespace postern::app
