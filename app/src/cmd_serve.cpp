// `postern serve`: the long-running HTTP service that answers access checks on live data.
#include <memory>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "server_main.hpp"

namespace postern::app {
namespace {

const CommandRegistration kServeCommand{
    90, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<server::ServeOptions>();
      auto* cmd = root.add_subcommand(
          "serve",
          "Serve access checks over HTTP (JSON) on live data: the policy and the tailnet are\n"
          "compiled once; API-set custom:* attributes, the in-process Kandji sync (--sync) and\n"
          "expiries update the answers without a restart. The policy and inventory reload on\n"
          "SIGHUP and when the files change; an invalid policy is rejected and the old one keeps\n"
          "serving. Prints `listening on HOST:PORT` first; logs go to stderr.\n"
          "Exit status: 0 after SIGINT/SIGTERM, 2 when the server cannot start.");
      cmd->add_option("--policy", o->policy,
                      "Policy file (HuJSON); with --db it is stored as a new version when it\n"
                      "differs from the stored one. Without it the stored policy serves")
          ->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, kTailnetHelp)->required()->type_name("FILE");
      cmd->add_option("--db", o->db,
                      "Attribute store: an SQLite file, or postgresql://... for several replicas\n"
                      "sharing one database (docs/deploy.md). Its attributes are laid over the\n"
                      "inventory's; API writes are persisted there with an audit event. Default\n"
                      "with --sync: postern.db; without --sync and --db, API-set attributes live\n"
                      "in memory")
          ->type_name("FILE|URL");
      cmd->add_option("--replica-retry-ms", o->replica_retry_ms,
                      "With a postgresql:// --db: how often a replica tries for the sync lease,\n"
                      "checks it still holds it, and reconnects after losing the database")
          ->check(CLI::Range(50, 600000))
          ->capture_default_str();
      cmd->add_option("--listen", o->listen,
                      "HOST:PORT (port 0 picks a free one); a non-loopback host needs\n"
                      "--tls-cert and --tls-key")
          ->capture_default_str()
          ->type_name("HOST:PORT");
      cmd->add_option("--api-token-file", o->api_token_file,
                      "Require `Authorization: Bearer <token>` on every request; the token is\n"
                      "the file's first line")
          ->type_name("FILE");
      cmd->add_flag("--sync", o->sync,
                    "Run the posture integrations' scheduler in this process and apply each\n"
                    "sync's changes to the live engine");
      cmd->add_option("--sync-interval", o->sync_interval, "Seconds between scheduled syncs")
          ->check(CLI::Range(1, 7 * 24 * 3600))
          ->capture_default_str();
      cmd->add_option("--sync-now-spacing", o->sync_now_spacing,
                      "Seconds after a sync ends before \"Sync now\" starts another (each run\n"
                      "spends the provider's hourly request budget); 0: at once every time")
          ->check(CLI::Range(0, 3600))
          ->capture_default_str();
      cmd->add_option("--reload-interval", o->reload_interval,
                      "Seconds between checks of the files' modification times (0: SIGHUP only)")
          ->check(CLI::Range(0, 24 * 3600))
          ->capture_default_str();
      cmd->add_option("--threads", o->threads,
                      "HTTP worker threads; 0: one per core this process may run on")
          ->check(CLI::Range(0, 256))
          ->capture_default_str();
      server::add_serving_flags(*cmd, o->serving);
      cmd->add_option("--metrics-listen", o->metrics_listen,
                      "Also serve GET /metrics (Prometheus) here without credentials; loopback\n"
                      "only. /metrics on --listen needs an API credential like /v1")
          ->type_name("HOST:PORT");
      cmd->add_flag("--access-log", o->access_log,
                    "Log one line per request: method, route (the path pattern, never\n"
                    "the path or query, which may carry what should not be logged), status,\n"
                    "duration, client address and credential");
      cmd->add_option("--log-level", o->log_level,
                      "Least severe log lines written; debug adds one line per change followed\n"
                      "from a shared (postgresql://) store")
          ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
          ->capture_default_str();
      cmd->footer(
          "API (JSON): GET /v1/health · POST /v1/check · POST /v1/check/batch ·\n"
          "GET /v1/devices/{id}/attributes · POST|DELETE /v1/devices/{id}/attributes/{key} ·\n"
          "GET /v1/filter/{node} · GET /v1/integrations · POST /v1/integrations/{provider}/sync ·\n"
          "POST /v1/validate\n"
          "Examples:\n"
          "  postern serve --policy samples/policy.hujson --tailnet samples/tailnet.json\n"
          "  curl -s localhost:8080/v1/check -H 'Content-Type: application/json' \\\n"
          "      -d '{\"src\":\"carol-mbp\",\"dst\":\"db-1:5432\",\"explain\":true}'");
      cmd->callback([o, &exit_code] { exit_code = server::run_server(*o); });
    }};

}  // namespace
}  // namespace postern::app
