// `postern integrations add|update|remove|list|status`: posture integration configuration.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "integration_json.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct IntegrationsOptions {
  std::string db = std::string(control::kDefaultDbPath);
  std::string tailnet;
  std::string provider;
  std::string url;
  std::string token_file;
  std::string token_env;
  std::string actor;
  std::string format = "text";
};

void warn_token_shape(const std::string& token) {
  static const std::regex kUuid(
      "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  if (!std::regex_match(token, kUuid)) {
    std::cerr << "postern integrations: warning: the token does not look like a Kandji API token "
                 "(8-4-4-4-12 hex); saved anyway\n";
  }
}

// Only `add` creates the store: elsewhere a mistyped --db is an error, not an empty store.
std::unique_ptr<control::Tailnet> open(const IntegrationsOptions& o, bool create = false) {
  control::TailnetOptions options;
  options.db = o.db;
  options.create_db = create;
  if (!o.tailnet.empty()) options.tailnet_path = o.tailnet;
  return open_tailnet("integrations", std::move(options));
}

void print_run(const control::SyncRun& run) {
  const auto& r = run.report;
  if (!r.ok) {
    print_error("integrations", control::from_sync(*r.error));
    return;
  }
  std::cout << fmt::format("{}: synced {} devices, matched {} of {} possible, {} node(s) changed\n",
                           run.integration.provider, r.provider_devices, r.matched,
                           r.possible_matched, r.changed_nodes);
}

// The create/update-triggered sync runs here when the tailnet is known.
int sync_after_change(control::Tailnet& tailnet, const IntegrationsOptions& o) {
  if (o.tailnet.empty()) {
    std::cout << "a running `postern sync` or `postern serve --sync` picks the change up within a "
                 "second; or run `postern sync --once --tailnet FILE` now\n";
    return kExitOk;
  }
  auto run = tailnet.sync_now(o.provider);
  if (!run) {
    print_error("integrations", run.error());
    return kExitFailed;
  }
  if (!run.value().run) return kExitOk;
  print_run(*run.value().run);
  return run.value().run->report.ok ? kExitOk : kExitFailed;
}

int run_add(const IntegrationsOptions& o) {
  auto token = read_token_option("integrations", o.token_file, o.token_env);
  if (!token) return kExitUsage;
  auto tailnet = open(o, true);
  if (!tailnet) return kExitUsage;
  warn_token_shape(*token);
  auto created = tailnet->create_integration(o.provider, o.url, *token, cli_actor(o.actor));
  if (!created) {
    print_error("integrations", created.error());
    return exit_code_for(created.error());
  }
  const auto& i = created.value().integration;
  std::cout << fmt::format("created {} integration {} ({}, token: set)\n", i.provider, i.id, i.url);
  return sync_after_change(*tailnet, o);
}

int run_update(const IntegrationsOptions& o) {
  control::IntegrationChange change;
  if (!o.url.empty()) change.url = o.url;
  if (!o.token_file.empty() || !o.token_env.empty()) {
    auto token = read_token_option("integrations", o.token_file, o.token_env);
    if (!token) return kExitUsage;
    warn_token_shape(*token);
    change.token = std::move(*token);
  }
  auto tailnet = open(o);
  if (!tailnet) return kExitUsage;
  auto updated = tailnet->update_integration(o.provider, change, cli_actor(o.actor));
  if (!updated) {
    print_error("integrations", updated.error());
    return exit_code_for(updated.error());
  }
  std::cout << fmt::format("updated {} integration ({}, token: set); any pause is cleared\n",
                           o.provider, updated.value().integration.url);
  return sync_after_change(*tailnet, o);
}

int run_remove(const IntegrationsOptions& o) {
  auto tailnet = open(o);
  if (!tailnet) return kExitUsage;
  if (auto removed = tailnet->delete_integration(o.provider, cli_actor(o.actor)); !removed) {
    print_error("integrations", removed.error());
    return kExitFailed;
  }
  std::cout << fmt::format("removed {} integration and the attributes it wrote\n", o.provider);
  return kExitOk;
}

int run_list_or_status(const IntegrationsOptions& o, bool detailed) {
  auto tailnet = open(o);
  if (!tailnet) return kExitUsage;
  json all = json::array();
  if (o.provider.empty()) {
    auto integrations = tailnet->integrations();
    if (!integrations) {
      print_error("integrations", integrations.error());
      return kExitUsage;
    }
    for (const auto& v : integrations.value()) all.push_back(integration_json(v, tailnet->now()));
  } else {
    auto one = tailnet->integration(o.provider);
    if (!one) {
      print_error("integrations", one.error());
      return kExitFailed;
    }
    all.push_back(integration_json(one.value(), tailnet->now()));
  }
  if (o.format == "json") {
    std::cout << (detailed ? all.dump(2) : all.dump()) << "\n";
    return kExitOk;
  }
  if (all.empty()) {
    std::cout << "no posture integrations; add one with `postern integrations add kandji --url "
                 "URL --token-file FILE`\n";
    return kExitOk;
  }
  for (const auto& j : all) {
    auto text = [](const json& v) {
      return v.is_null() ? std::string("never") : v.get<std::string>();
    };
    if (!detailed) {
      std::cout << j["provider"].get<std::string>() << "  " << j["url"].get<std::string>()
                << "  token: " << j["token"].get<std::string>() << "  "
                << j["state"].get<std::string>() << "  last sync " << text(j["lastSync"]) << "\n";
      continue;
    }
    std::cout << j["provider"].get<std::string>() << " (integration " << j["id"] << ")\n"
              << "  url:                  " << j["url"].get<std::string>() << "\n"
              << "  token:                " << j["token"].get<std::string>() << "\n"
              << "  state:                " << j["state"].get<std::string>() << "\n"
              << "  last successful sync: " << text(j["lastSync"]) << "\n"
              << "  last attempt:         " << text(j["lastAttempt"]) << "\n"
              << "  last error:           "
              << (j["lastError"].is_null() ? std::string("none")
                                           : grammar::printable(j["lastError"].get<std::string>()) +
                                                 " (" + j["lastErrorKind"].get<std::string>() + ")")
              << "\n";
    if (!j["pausedUntil"].is_null()) {
      std::cout << "  paused until:         " << j["pausedUntil"].get<std::string>()
                << " (authentication failed; `postern integrations update "
                << j["provider"].get<std::string>()
                << " --token-file FILE` resumes it, with the same token once its permissions "
                   "are fixed)\n";
    }
    std::cout << "  next run:             " << text(j["nextRun"]) << "\n"
              << "  providerHostCount:    " << j["providerHostCount"] << "\n"
              << "  matchedCount:         " << j["matchedCount"] << "\n"
              << "  possibleMatchedCount: " << j["possibleMatchedCount"] << "\n"
              << "  ambiguous serials:    "
              << (j["ambiguousSerials"].empty() ? std::string("none")
                                                : j["ambiguousSerials"].dump())
              << "\n"
              << "  without serial:       " << j["recordsWithoutSerial"] << "\n"
              << "  pages:                " << j["pages"] << "\n"
              << "  duration:             " << j["durationMs"] << " ms\n";
    if (!j["warning"].is_null()) {
      std::cout << "  warning:              " << j["warning"].get<std::string>() << "\n";
    }
    if (j["stale"] == true) {
      std::cout << "  WARNING: no successful sync for over 24 h; attributes may be stale\n";
    }
  }
  return kExitOk;
}

// Every subcommand takes the same --db and --tailnet, so a script can pass one set to all.
void common(CLI::App* cmd, IntegrationsOptions& o) {
  cmd->add_option("--db", o.db, kDbHelp)->type_name("FILE");
  cmd->add_option("--tailnet", o.tailnet,
                  "Tailnet inventory: add and update sync right away against it (the other\n"
                  "subcommands do not need it)")
      ->type_name("FILE");
}

const CommandRegistration kIntegrationsCommand{
    60, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<IntegrationsOptions>();
      auto* cmd = root.add_subcommand(
          "integrations",
          "Configure device-posture integrations (Kandji). The API token is kept in\n"
          "`<db>.secrets/<provider>.token` (mode 0600) and is never printed: status shows\n"
          "`token: set`. Creating or changing an integration asks for an immediate sync.");
      cmd->require_subcommand(1);

      auto* add = cmd->add_subcommand("add", "Add an integration and sync it (with --tailnet)");
      add->add_option("provider", o->provider, "Provider id: kandji")->required();
      add->add_option("--url", o->url,
                      "Kandji API URL: `acme.api.kandji.io`, `https://acme.api.eu.kandji.io/`;\n"
                      "plain http only for loopback test servers")
          ->required();
      auto* tf = add->add_option("--token-file", o->token_file, "File holding the API token")
                     ->type_name("FILE");
      auto* te =
          add->add_option("--token-env", o->token_env, "Environment variable holding the API token")
              ->type_name("VAR");
      tf->excludes(te);
      add->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      common(add, *o);
      add->footer(
          "Example:\n"
          "  postern integrations add kandji --url acme.api.kandji.io --token-file token.txt \\\n"
          "      --tailnet samples/tailnet.json");
      add->callback([o, &exit_code] {
        if (o->token_file.empty() && o->token_env.empty()) {
          print_error("integrations",
                      control::invalid(grammar::DiagCode::C703,
                                       "give --token-file FILE or --token-env VAR"));
          exit_code = kExitUsage;
          return;
        }
        exit_code = run_add(*o);
      });

      auto* update = cmd->add_subcommand(
          "update", "Change the URL or rotate the token; clears an authentication pause");
      update->add_option("provider", o->provider, "Provider id: kandji")->required();
      update->add_option("--url", o->url, "New API URL");
      auto* utf = update->add_option("--token-file", o->token_file, "File with the new token")
                      ->type_name("FILE");
      auto* ute =
          update->add_option("--token-env", o->token_env, "Environment variable with the new token")
              ->type_name("VAR");
      utf->excludes(ute);
      update->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      common(update, *o);
      update->callback([o, &exit_code] { exit_code = run_update(*o); });

      auto* remove = cmd->add_subcommand(
          "remove", "Remove an integration, its token and every attribute it wrote");
      remove->add_option("provider", o->provider, "Provider id: kandji")->required();
      remove->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      common(remove, *o);
      remove->callback([o, &exit_code] { exit_code = run_remove(*o); });

      auto* list = cmd->add_subcommand("list", "One line per integration");
      list->add_option("--format", o->format, "text (default) or json")
          ->check(CLI::IsMember({"text", "json"}));
      common(list, *o);
      list->callback([o, &exit_code] { exit_code = run_list_or_status(*o, false); });

      auto* status = cmd->add_subcommand(
          "status",
          "Last successful sync, last error, pause, next run, providerHostCount,\n"
          "matchedCount, possibleMatchedCount, ambiguous serials, pages and duration");
      status->add_option("provider", o->provider, "Only this provider");
      status->add_option("--format", o->format, "text (default) or json")
          ->check(CLI::IsMember({"text", "json"}));
      common(status, *o);
      status->callback([o, &exit_code] { exit_code = run_list_or_status(*o, true); });
    }};

}  // namespace
}  // namespace postern::app
