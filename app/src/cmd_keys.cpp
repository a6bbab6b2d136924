// `postern keys create|list|revoke`: API access keys and OAuth clients for the Tailscale-style
// API of `postern serve`. The token is printed once, on stdout alone; the store keeps its hash.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "command_registry.hpp"

namespace postern::app {
namespace {

using nlohmann::json;

struct KeysOptions {
  std::string db = std::string(control::kDefaultDbPath);
  std::string expiry;
  std::string description;
  bool oauth = false;
  std::vector<std::string> scopes;
  std::string id;
  std::string actor;
  std::string format = "text";
};

std::unique_ptr<control::Tailnet> open(const KeysOptions& o, bool create) {
  control::TailnetOptions options;
  options.db = o.db;
  options.create_db = create;
  return open_tailnet("keys", std::move(options));
}

std::string kind_label(control::CredentialKind kind) {
  return kind == control::CredentialKind::OAuthClient ? "oauth-client" : "api-key";
}

std::string state_of(const control::CredentialView& key, std::int64_t now) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && *key.expires_at <= now) return "expired";
  return "active";
}

int run_create(const KeysOptions& o) {
  control::NewCredentialRequest request;
  request.kind = o.oauth ? control::CredentialKind::OAuthClient : control::CredentialKind::ApiKey;
  request.description = o.description;
  request.scopes = o.scopes;
  if (!o.expiry.empty()) {
    request.lifetime = control::parse_lifetime(o.expiry);
    if (!request.lifetime) {
      print_error("keys", control::invalid(grammar::DiagCode::K832,
                                           fmt::format("cannot read --expiry `{}`", o.expiry),
                                           "give a number of days, hours or minutes: 90d, 12h, "
                                           "30m"));
      return kExitUsage;
    }
  }
  auto tailnet = open(o, true);
  if (!tailnet) return kExitUsage;
  auto created = tailnet->create_key(request, cli_actor(o.actor));
  if (!created) {
    print_error("keys", created.error());
    return exit_code_for(created.error());
  }
  const auto& view = created.value().view;
  std::cout << created.value().token << "\n";
  std::cerr << fmt::format(
      "created {} {} (expires {}{}); the {} above is shown only once: store it now\n",
      kind_label(view.kind), view.id, when(view.expires_at),
      view.scopes.empty() ? "" : fmt::format(", scopes {}", fmt::join(view.scopes, " ")),
      o.oauth ? "client secret" : "key");
  return kExitOk;
}

json key_json(const control::CredentialView& key, std::int64_t now) {
  auto time = [](const std::optional<std::int64_t>& t) {
    return t ? json(when(t)) : json(nullptr);
  };
  return json{{"id", key.id},
              {"kind", kind_label(key.kind)},
              {"description", key.description},
              {"scopes", key.scopes},
              {"created", when(key.created_at)},
              {"expires", time(key.expires_at)},
              {"lastUsed", time(key.last_used_at)},
              {"revoked", time(key.revoked_at)},
              {"state", state_of(key, now)}};
}

int run_list(const KeysOptions& o) {
  auto tailnet = open(o, false);
  if (!tailnet) return kExitUsage;
  auto keys = tailnet->list_keys();
  if (!keys) {
    print_error("keys", keys.error());
    return exit_code_for(keys.error());
  }
  const auto now = tailnet->now();
  if (o.format == "json") {
    json all = json::array();
    for (const auto& key : keys.value()) all.push_back(key_json(key, now));
    std::cout << all.dump(2) << "\n";
    return kExitOk;
  }
  if (keys.value().empty()) {
    std::cout << "no API keys; create one with `postern keys create`\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<18} {:<12} {:<8} {:<20} {:<20} {:<20} {}\n", "ID", "KIND", "STATE",
                           "CREATED", "EXPIRES", "LAST USED", "DESCRIPTION / SCOPES");
  for (const auto& key : keys.value()) {
    std::string about = key.description;
    if (key.kind == control::CredentialKind::OAuthClient) {
      about += fmt::format("{}[{}]", about.empty() ? "" : " ", fmt::join(key.scopes, " "));
    }
    std::cout << fmt::format("{:<18} {:<12} {:<8} {:<20} {:<20} {:<20} {}\n", key.id,
                             kind_label(key.kind), state_of(key, now), when(key.created_at),
                             when(key.expires_at), when(key.last_used_at), about);
  }
  return kExitOk;
}

int run_revoke(const KeysOptions& o) {
  auto tailnet = open(o, false);
  if (!tailnet) return kExitUsage;
  if (auto revoked = tailnet->revoke_key(o.id, cli_actor(o.actor)); !revoked) {
    print_error("keys", revoked.error());
    return exit_code_for(revoked.error());
  }
  std::cout << fmt::format("revoked {}; requests with it are refused from now on\n", o.id);
  return kExitOk;
}

void add_db(CLI::App* cmd, KeysOptions& o) {
  cmd->add_option("--db", o.db, "The store `postern serve --db` uses (default postern.db)")
      ->type_name("FILE");
}

const CommandRegistration kKeysCommand{
    64, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<KeysOptions>();
      auto* cmd = root.add_subcommand(
          "keys",
          "API access keys (tskey-api-...) and OAuth clients (tskey-client-...) for the\n"
          "/api/v2 routes of `postern serve`. Only a hash of each secret is stored.");
      cmd->require_subcommand(1);

      auto* create = cmd->add_subcommand(
          "create", "Create a key (or with --oauth a client) and print it once on stdout");
      create
          ->add_option("--expiry", o->expiry,
                       "Lifetime: 90d, 12h, 30m (keys: default 90d; clients: none)")
          ->type_name("DURATION");
      create->add_option("--description", o->description, "What it is for (≤ 100 characters)")
          ->type_name("TEXT");
      create->add_flag("--oauth", o->oauth,
                       "An OAuth client: exchange it at POST /api/v2/oauth/token for one-hour\n"
                       "access tokens with its scopes");
      create
          ->add_option("--scope", o->scopes,
                       "OAuth client scope, repeatable: policy_file, devices:core,\n"
                       "devices:posture_attributes, feature_settings (each also as :read),\n"
                       "logs:configuration:read, all, all:read")
          ->type_name("SCOPE");
      create->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      add_db(create, *o);
      create->footer(
          "Examples:\n"
          "  postern keys create --expiry 30d --description gitops > key.txt\n"
          "  postern keys create --oauth --scope policy_file --scope devices:posture_attributes");
      create->callback([o, &exit_code] { exit_code = run_create(*o); });

      auto* list = cmd->add_subcommand(
          "list", "Keys and OAuth clients: id, state, created, expires, last used (no secrets)");
      list->add_option("--format", o->format, "text or json")
          ->check(CLI::IsMember({"text", "json"}))
          ->capture_default_str();
      add_db(list, *o);
      list->callback([o, &exit_code] { exit_code = run_list(*o); });

      auto* revoke = cmd->add_subcommand(
          "revoke", "Revoke a key or an OAuth client (and every token it obtained) at once");
      revoke->add_option("id", o->id, "The id `keys list` shows, e.g. k1f2e3d4c5b6a7980")
          ->required();
      revoke->add_option("--actor", o->actor, "Audit-log actor (default admin:$USER)");
      add_db(revoke, *o);
      revoke->callback([o, &exit_code] { exit_code = run_revoke(*o); });
    }};

}  // namespace
}  // namespace postern::app
