// `postern audit [--since T] [--format json]`: the configuration audit log.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct AuditOptions {
  std::string db = std::string(control::kDefaultDbPath);
  std::string since;
  std::string actor;
  std::string target;
  std::string action;
  std::string format = "text";
};

int run_audit(const AuditOptions& o) {
  control::TailnetOptions options;
  options.db = o.db;
  options.create_db = false;
  auto tailnet = open_tailnet("audit", std::move(options));
  if (!tailnet) return kExitUsage;
  control::AuditQuery query;
  if (!o.since.empty()) {
    query.since = parse_since(o.since, tailnet->now());
    if (!query.since) {
      print_error("audit", control::invalid(
                               grammar::DiagCode::C703,
                               fmt::format("`{}` is neither an RFC 3339 time nor an age", o.since),
                               "use e.g. `2025-06-10T08:00:00Z`, `30m`, `24h` or `7d`"));
      return kExitUsage;
    }
  }
  query.actor = o.actor;
  query.target = o.target;
  query.action = o.action;
  auto log = tailnet->audit(query);
  if (!log) {
    print_error("audit", log.error());
    return kExitUsage;
  }
  for (const auto& e : log.value()) {
    json details = json::parse(e.details, nullptr, false);
    if (details.is_discarded()) details = e.details;
    if (o.format == "json") {
      std::cout << json{{"id", e.id},         {"time", sync::format_rfc3339(e.time)},
                        {"actor", e.actor},   {"origin", e.origin},
                        {"target", e.target}, {"action", e.action},
                        {"details", details}}
                       .dump()
                << "\n";
    } else {
      std::cout << fmt::format("{}  {}  {}  {}  {}\n", sync::format_rfc3339(e.time),
                               grammar::printable(e.actor), grammar::printable(e.action),
                               grammar::printable(e.target), details.dump());
    }
  }
  return kExitOk;
}

const CommandRegistration kAuditCommand{
    63, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<AuditOptions>();
      auto* cmd = root.add_subcommand(
          "audit",
          "Print the audit log, oldest first: policy changes, Create/Update/Removed posture "
          "integration and\n"
          "Update node attribute events, each with time, actor, target and details (old -> new\n"
          "per attribute). Secrets are never logged.");
      cmd->add_option("--db", o->db, kDbHelp)->type_name("FILE");
      cmd->add_option("--since", o->since, "Only events at or after T: RFC 3339 or an age (24h)")
          ->type_name("T");
      cmd->add_option("--actor", o->actor, "Only events by this actor (admin:alice)");
      cmd->add_option("--target", o->target,
                      "Only events on this target (node:NODEID, integration:kandji, policy)");
      cmd->add_option("--action", o->action, "Only this action (\"Update node attribute\")");
      cmd->add_option("--format", o->format, "text (default) or json (one object per line)")
          ->check(CLI::IsMember({"text", "json"}));
      cmd->callback([o, &exit_code] { exit_code = run_audit(*o); });
    }};

}  // namespace
}  // namespace postern::app
