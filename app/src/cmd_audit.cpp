// `postern audit [--since T] [--format json]`: the configuration audit log.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "command_registry.hpp"
#include "postern/sync/clock.hpp"
#include "sync_cli.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct Options {
  std::string db = std::string(sync::kDefaultDbPath);
  std::string since;
  std::string format = "text";
};

int run_audit(const Options& o) {
  std::optional<std::int64_t> since;
  if (!o.since.empty()) {
    since = parse_since(o.since, unix_now());
    if (!since) {
      print_sync_error("audit", "C703", "`" + o.since + "` is neither an RFC 3339 time nor an age",
                       "use e.g. `2025-06-10T08:00:00Z`, `30m`, `24h` or `7d`");
      return kExitUsage;
    }
  }
  auto store = open_store("audit", o.db);
  if (!store) return kExitUsage;
  auto log = store->audit_log(since);
  if (!log) {
    print_sync_error("audit", log.error());
    return kExitUsage;
  }
  for (const auto& e : log.value()) {
    json details = json::parse(e.details, nullptr, false);
    if (details.is_discarded()) details = e.details;
    if (o.format == "json") {
      std::cout << json{{"id", e.id},         {"time", sync::format_rfc3339(e.time)},
                        {"actor", e.actor},   {"target", e.target},
                        {"action", e.action}, {"details", details}}
                       .dump()
                << "\n";
    } else {
      std::cout << sync::format_rfc3339(e.time) << "  " << e.actor << "  " << e.action << "  "
                << e.target << "  " << details.dump() << "\n";
    }
  }
  return kExitOk;
}

const CommandRegistration kRegistration{
    63, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<Options>();
      auto* cmd = root.add_subcommand(
          "audit",
          "Print the audit log, oldest first: Create/Update/Removed posture integration and\n"
          "Update node attribute events, each with time, actor, target and details (old -> new\n"
          "per attribute). Secrets are never logged.");
      cmd->add_option("--db", o->db, "Attribute store (SQLite; default postern.db)")
          ->type_name("FILE");
      cmd->add_option("--since", o->since, "Only events at or after T: RFC 3339 or an age (24h)")
          ->type_name("T");
      cmd->add_option("--format", o->format, "text (default) or json (one object per line)")
          ->check(CLI::IsMember({"text", "json"}));
      cmd->callback([o, &exit_code] { exit_code = run_audit(*o); });
    }};

}  // namespace
}  // namespace postern::app
