// `postern integrations add|update|remove|list|status`: posture integration configuration.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "command_registry.hpp"
#include "integration_json.hpp"
#include "postern/sync/http_transport.hpp"
#include "postern/sync/provider.hpp"
#include "postern/sync/sync_engine.hpp"
#include "sync_cli.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct Options {
  std::string db = std::string(sync::kDefaultDbPath);
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

// Runs the create/update-triggered sync in this process when --tailnet was given.
int sync_now(const Options& o, sync::Store& store, const sync::Integration& integration) {
  if (o.tailnet.empty()) {
    std::cout << "a running `postern sync` picks the change up within a second; or run "
                 "`postern sync --once --tailnet FILE` now\n";
    return kExitOk;
  }
  auto nodes = load_tailnet_nodes(o.tailnet);
  if (!nodes) {
    print_sync_error("integrations", "C702", nodes.error().message);
    return kExitUsage;
  }
  auto transport = sync::make_curl_transport();
  sync::SystemClock clock;
  sync::SyncEngine engine(store, *transport, clock, sync::file_token_reader(o.db));
  const auto report = engine.sync(integration, nodes.value());
  schedule_next(store, integration.id, 15 * 60);
  if (!report.ok) {
    print_sync_error("integrations", *report.error);
    return kExitFailed;
  }
  std::cout << integration.provider << ": synced " << report.provider_devices
            << " devices, matched " << report.matched << " of " << report.possible_matched
            << " possible, " << report.changed_nodes << " node(s) changed\n";
  return kExitOk;
}

std::unique_ptr<sync::Provider> provider_or_report(const std::string& id) {
  auto provider = sync::make_provider(id);
  if (!provider) {
    print_sync_error("integrations", "C740", "unknown provider `" + id + "`",
                     "supported providers: kandji");
  }
  return provider;
}

int run_add(const Options& o) {
  auto provider = provider_or_report(o.provider);
  if (!provider) return kExitUsage;
  auto url = provider->normalise_url(o.url);
  if (!url) {
    print_sync_error("integrations", "Y606", url.error().message,
                     "give the API URL from Settings > Access, e.g. `acme.api.kandji.io`");
    return kExitUsage;
  }
  auto token = read_token_option("integrations", o.token_file, o.token_env);
  if (!token) return kExitUsage;
  warn_token_shape(*token);
  auto store = open_store("integrations", o.db);
  if (!store) return kExitUsage;
  auto existing = store->find_integration(o.provider);
  if (!existing) {
    print_sync_error("integrations", existing.error());
    return kExitUsage;
  }
  if (existing.value()) {
    print_sync_error("integrations", "C742", "a `" + o.provider + "` integration already exists",
                     "change it with `postern integrations update " + o.provider + "`");
    return kExitFailed;
  }
  if (auto written = sync::write_token(o.db, o.provider, *token); !written) {
    print_sync_error("integrations", written.error());
    return kExitUsage;
  }
  const auto now = unix_now();
  const json details{{"provider", o.provider}, {"url", url.value()}, {"token", "set"}};
  auto created = store->create_integration(
      sync::Integration{0, o.provider, url.value(), 1, now, now},
      sync::AuditEvent{0, now, actor_or_default(o.actor), "integration:" + o.provider,
                       std::string(sync::kActionCreate), details.dump()});
  if (!created) {
    print_sync_error("integrations", created.error());
    return kExitFailed;
  }
  std::cout << "created " << o.provider << " integration " << created.value().id << " ("
            << url.value() << ", token: set)\n";
  return sync_now(o, *store, created.value());
}

int run_update(const Options& o) {
  auto provider = provider_or_report(o.provider);
  if (!provider) return kExitUsage;
  if (o.url.empty() && o.token_file.empty() && o.token_env.empty()) {
    print_sync_error("integrations", "C703", "nothing to update",
                     "give --url, --token-file or --token-env");
    return kExitUsage;
  }
  auto store = open_store("integrations", o.db);
  if (!store) return kExitUsage;
  auto existing = store->find_integration(o.provider);
  if (!existing || !existing.value()) {
    print_sync_error("integrations", "C740", "no `" + o.provider + "` integration",
                     "add one with `postern integrations add " + o.provider +
                         " --url URL "
                         "--token-file FILE`");
    return kExitFailed;
  }
  sync::Integration integration = *existing.value();
  json changed = json::array();
  if (!o.url.empty()) {
    auto url = provider->normalise_url(o.url);
    if (!url) {
      print_sync_error("integrations", "Y606", url.error().message);
      return kExitUsage;
    }
    if (url.value() != integration.url) changed.push_back("url");
    integration.url = url.value();
  }
  bool rotated = false;
  if (!o.token_file.empty() || !o.token_env.empty()) {
    auto token = read_token_option("integrations", o.token_file, o.token_env);
    if (!token) return kExitUsage;
    warn_token_shape(*token);
    auto old = sync::read_token(o.db, o.provider);
    rotated = !old || old.value() != *token;
    if (auto written = sync::write_token(o.db, o.provider, *token); !written) {
      print_sync_error("integrations", written.error());
      return kExitUsage;
    }
    if (rotated) changed.push_back("token");
  }
  integration.updated_at = unix_now();
  const json details{{"provider", o.provider},
                     {"integration_id", integration.id},
                     {"url", integration.url},
                     {"changed", changed},
                     {"token_rotated", rotated ? "yes" : "no"}};
  auto updated = store->update_integration(
      integration, sync::AuditEvent{0, integration.updated_at, actor_or_default(o.actor),
                                    "integration:" + o.provider, std::string(sync::kActionUpdate),
                                    details.dump()});
  if (!updated) {
    print_sync_error("integrations", updated.error());
    return kExitFailed;
  }
  std::cout << "updated " << o.provider << " integration (" << updated.value().url << ", token: set"
            << (rotated ? ", rotated" : "") << "); any pause is cleared\n";
  return sync_now(o, *store, updated.value());
}

int run_remove(const Options& o) {
  auto store = open_store("integrations", o.db);
  if (!store) return kExitUsage;
  auto existing = store->find_integration(o.provider);
  if (!existing || !existing.value()) {
    print_sync_error("integrations", "C740", "no `" + o.provider + "` integration");
    return kExitFailed;
  }
  auto transport = sync::make_curl_transport();
  sync::SystemClock clock;
  sync::SyncEngine engine(*store, *transport, clock, sync::file_token_reader(o.db));
  if (auto removed = engine.remove(*existing.value(), actor_or_default(o.actor)); !removed) {
    print_sync_error("integrations", removed.error());
    return kExitFailed;
  }
  (void)sync::remove_token(o.db, o.provider);
  std::cout << "removed " << o.provider << " integration and the attributes it wrote\n";
  return kExitOk;
}

int run_list_or_status(const Options& o, bool detailed) {
  auto store = open_store("integrations", o.db);
  if (!store) return kExitUsage;
  auto integrations = store->list_integrations();
  if (!integrations) {
    print_sync_error("integrations", integrations.error());
    return kExitUsage;
  }
  const auto now = unix_now();
  json all = json::array();
  bool found = o.provider.empty();
  for (const auto& i : integrations.value()) {
    if (!o.provider.empty() && i.provider != o.provider) continue;
    found = true;
    auto status = store->load_status(i.id);
    const sync::SyncStatus s = status ? status.value() : sync::SyncStatus{};
    const bool token_set = sync::read_token(o.db, i.provider).ok();
    all.push_back(integration_json(i, s, token_set, now));
  }
  if (!found) {
    print_sync_error("integrations", "C740", "no `" + o.provider + "` integration");
    return kExitFailed;
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
                                           : j["lastError"].get<std::string>() + " (" +
                                                 j["lastErrorKind"].get<std::string>() + ")")
              << "\n";
    if (!j["pausedUntil"].is_null()) {
      std::cout << "  paused until:         " << j["pausedUntil"].get<std::string>()
                << " (authentication failed; `postern integrations update` resumes it)\n";
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
    if (j["state"] == "stale") {
      std::cout << "  WARNING: no successful sync for over 24 h; attributes may be stale\n";
    }
  }
  return kExitOk;
}

void common(CLI::App* cmd, Options& o) {
  cmd->add_option("--db", o.db, "Attribute store (SQLite; default postern.db)")->type_name("FILE");
}

const CommandRegistration kRegistration{
    60, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<Options>();
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
      add->add_option("--tailnet", o->tailnet, "Tailnet inventory: sync right away against it")
          ->type_name("FILE");
      add->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      common(add, *o);
      add->footer(
          "Example:\n"
          "  postern integrations add kandji --url acme.api.kandji.io --token-file token.txt \\\n"
          "      --tailnet samples/tailnet.json");
      add->callback([o, &exit_code] {
        if (o->token_file.empty() && o->token_env.empty()) {
          print_sync_error("integrations", "C703", "give --token-file FILE or --token-env VAR");
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
      update->add_option("--tailnet", o->tailnet, "Tailnet inventory: sync right away against it")
          ->type_name("FILE");
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
