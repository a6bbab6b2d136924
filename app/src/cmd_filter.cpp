// `postern filter --policy P --tailnet T --node N`: the packet filter (tailcfg FilterRules) the
// control plane would send to one node, with posture-failing sources left out (spec §7.6).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "decision_json.hpp"
#include "postern/control/query.hpp"

namespace postern::app {
namespace {

struct FilterOptions {
  std::string policy;
  std::string tailnet;
  std::string db;
  std::string node;
};

int run_filter(const FilterOptions& o) {
  control::TailnetOptions options;
  options.tailnet_path = o.tailnet;
  options.policy_path = o.policy;
  options.store_policy_file = false;
  if (!o.db.empty()) {
    options.db = o.db;
    options.create_db = false;
  }
  auto tailnet = open_tailnet("filter", std::move(options));
  if (!tailnet) return kExitUsage;
  const auto snap = tailnet->snapshot();
  const auto filter = control::filter_for(*snap, o.node);
  if (!filter) {
    print_error("filter", filter.error());
    return kExitUsage;
  }
  std::cout << node_filter_json(*snap, filter.value().device, filter.value().rules).dump(2) << "\n";
  return kExitOk;
}

const CommandRegistration kFilterCommand{
    40, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<FilterOptions>();
      auto* cmd = root.add_subcommand(
          "filter",
          "Print the packet filter Tailscale's control plane would send to one node: JSON\n"
          "{node: {id, nodeId, name}, rules: [tailcfg FilterRule: {SrcIPs, DstPorts: [{IP, Ports:\n"
          "{First, Last}}], IPProto}]}, with source nodes that fail the rule's posture left out "
          "of\n"
          "SrcIPs.");
      cmd->add_option("--policy", o->policy, "Policy file (HuJSON)")->required()->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, kTailnetHelp)->required()->type_name("FILE");
      cmd->add_option(
             "--db", o->db,
             "The store (SQLite file or postgresql:// URL): laid over the inventory's attributes")
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
