// The authenticator of `postern serve`, the one scope table, and the OAuth token route.
#include "serve_auth.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <array>
#include <nlohmann/json.hpp>

namespace postern::server {
namespace {

using http::Method;

constexpr std::string_view kApiPrefix = "/api/v2/";
constexpr std::string_view kRead = ":read";

struct ScopeRule {
  Method method;
  std::string_view route;
  std::optional<std::string_view> scope;  // nullopt: any authenticated caller
};

// Tailscale's scope per endpoint (spec tailscale-api.md §2; OAS2 names them), and Postern's own
// routes by what they reveal or change.
constexpr std::array kScopeTable{
    ScopeRule{Method::Get, "/api/v2/tailnet/{tailnet}/acl", "policy_file:read"},
    ScopeRule{Method::Post, "/api/v2/tailnet/{tailnet}/acl", "policy_file"},
    ScopeRule{Method::Post, "/api/v2/tailnet/{tailnet}/acl/validate", "policy_file:read"},
    ScopeRule{Method::Post, "/api/v2/tailnet/{tailnet}/acl/preview", "policy_file:read"},
    ScopeRule{Method::Get, "/api/v2/tailnet/{tailnet}/devices", "devices:core:read"},
    ScopeRule{Method::Get, "/api/v2/device/{id}", "devices:core:read"},
    ScopeRule{Method::Get, "/api/v2/device/{id}/attributes", "devices:posture_attributes:read"},
    ScopeRule{Method::Post, "/api/v2/device/{id}/attributes/{key}", "devices:posture_attributes"},
    ScopeRule{Method::Delete, "/api/v2/device/{id}/attributes/{key}", "devices:posture_attributes"},
    ScopeRule{Method::Patch, "/api/v2/tailnet/{tailnet}/device-attributes",
              "devices:posture_attributes"},
    ScopeRule{Method::Get, "/api/v2/tailnet/{tailnet}/posture/integrations",
              "feature_settings:read"},
    ScopeRule{Method::Post, "/api/v2/tailnet/{tailnet}/posture/integrations", "feature_settings"},
    ScopeRule{Method::Get, "/api/v2/posture/integrations/{id}", "feature_settings:read"},
    ScopeRule{Method::Patch, "/api/v2/posture/integrations/{id}", "feature_settings"},
    ScopeRule{Method::Delete, "/api/v2/posture/integrations/{id}", "feature_settings"},
    ScopeRule{Method::Get, "/api/v2/tailnet/{tailnet}/logging/configuration",
              "logs:configuration:read"},
    ScopeRule{Method::Get, "/v1/health", std::nullopt},
    ScopeRule{Method::Get, "/metrics", std::nullopt},
    ScopeRule{Method::Post, "/v1/check", "policy_file:read"},
    ScopeRule{Method::Post, "/v1/check/batch", "policy_file:read"},
    ScopeRule{Method::Get, "/v1/filter/{node}", "policy_file:read"},
    ScopeRule{Method::Post, "/v1/validate", "policy_file:read"},
    ScopeRule{Method::Get, "/v1/devices/{id}/attributes", "devices:posture_attributes:read"},
    ScopeRule{Method::Post, "/v1/devices/{id}/attributes/{key}", "devices:posture_attributes"},
    ScopeRule{Method::Delete, "/v1/devices/{id}/attributes/{key}", "devices:posture_attributes"},
    ScopeRule{Method::Get, "/v1/integrations", "feature_settings:read"},
    ScopeRule{Method::Post, "/v1/integrations/{provider}/sync", "feature_settings"},
    // The console's sign-in takes any valid credential; its pages then get what its scopes allow.
    ScopeRule{Method::Post, "/console/session", std::nullopt},
    ScopeRule{Method::Get, "/v1/postures", "policy_file:read"},
    ScopeRule{Method::Get, "/v1/devices/{id}/postures", "devices:posture_attributes:read"},
    ScopeRule{Method::Get, "/v1/devices/{id}/attribute-details", "devices:posture_attributes:read"},
    ScopeRule{Method::Get, "/v1/policy/versions", "policy_file:read"},
};

bool same_secret(std::string_view given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

http::Principal full_access(std::string actor) {
  // Every scope `all` implies, worked out once: the loopback operator's requests are the hot path.
  static const auto all_scopes =
      std::make_shared<const std::vector<std::string>>(control::effective_scopes({"all"}));
  return http::Principal{std::move(actor), all_scopes};
}

http::AuthOutcome identify(const AuthConfig& config,
                           const std::optional<http::Credential>& credential,
                           const http::Request& request) {
  if (!credential) {
    if (request.route.substr(0, kApiPrefix.size()) == kApiPrefix) {
      return http::AuthDenial{401,
                              "this route needs an API access token: `Authorization: Bearer "
                              "tskey-api-...` or Basic with the token as user name "
                              "(`postern keys create` makes one)"};
    }
    if (config.open_loopback) return full_access("local");
    return http::AuthDenial{401, "this server needs `Authorization: Bearer TOKEN`"};
  }
  if (config.api_token_file && same_secret(credential->token, *config.api_token_file)) {
    return full_access("token:api-token-file");
  }
  if (config.tailnet == nullptr) return http::AuthDenial{401, "wrong API token"};
  auto who = config.tailnet->authenticate(credential->token);
  if (!who) {
    const auto& error = who.error();
    if (error.kind == control::ErrorKind::Unavailable) {
      return http::AuthDenial{503,
                              "the credential cannot be checked now: the store is "
                              "unavailable; try again"};
    }
    return http::AuthDenial{401, error.message};
  }
  return http::Principal{std::move(who.value().actor), std::move(who.value().scopes)};
}

std::string missing_scope_message(std::string_view scope) {
  return fmt::format(
      "this credential lacks the `{}` scope needed here; use an API access key or "
      "an OAuth client with that scope",
      scope);
}

// ---- OAuth token route ----

http::Response oauth_error(int status, std::string_view error, std::string_view description) {
  auto response = http::Response::json(
      status, nlohmann::json{
                  {"message", description}, {"error", error}, {"error_description", description}});
  response.headers.emplace_back("Cache-Control", "no-store");
  if (status == 401) response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"postern\"");
  return response;
}

struct ClientCredentials {
  std::string id;
  std::string secret;
};

// From HTTP Basic (RFC 6749 §2.3.1, what golang.org/x/oauth2 tries first) or the form fields.
std::optional<ClientCredentials> client_credentials(const http::Request& request,
                                                    const http::QueryParams& form) {
  if (const auto header = request.headers.get("Authorization")) {
    const auto credential = http::parse_authorization(*header);
    if (!credential || credential->scheme != http::Credential::Scheme::Basic) return std::nullopt;
    if (credential->password.empty()) return ClientCredentials{"", credential->token};
    return ClientCredentials{credential->token, credential->password};
  }
  const auto secret = form.get("client_secret");
  if (!secret) return std::nullopt;
  return ClientCredentials{std::string(form.get("client_id").value_or("")), std::string(*secret)};
}

http::Response issue_token(const http::Request& request, ApiContext& context) {
  http::QueryParams form;
  if (!http::parse_form(request.body, form)) {
    return oauth_error(400, "invalid_request", "malformed form encoding in the request body");
  }
  const auto grant = form.get("grant_type");
  if (!grant) return oauth_error(400, "invalid_request", "grant_type is missing");
  if (*grant != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type",
                       "only grant_type=client_credentials is supported");
  }
  const auto client = client_credentials(request, form);
  if (!client) {
    return oauth_error(401, "invalid_client",
                       "give client_id and client_secret (form fields or HTTP Basic)");
  }
  auto issued = context.tailnet.issue_access_token(
      client->id, client->secret, control::split_scopes(form.get("scope").value_or("")));
  if (!issued) {
    const auto& error = issued.error();
    if (error.code == grammar::DiagCode::K831) {
      return oauth_error(400, "invalid_scope", error.message);
    }
    if (error.code == grammar::DiagCode::K835) {
      auto busy = oauth_error(429, "invalid_request", error.message + ": " + error.help);
      if (error.retry_after)
        busy.headers.emplace_back("Retry-After", std::to_string(*error.retry_after));
      return busy;
    }
    if (error.kind == control::ErrorKind::Invalid) {
      return oauth_error(401, "invalid_client", error.message);
    }
    context.log.error(fmt::format("oauth token: {}", error.message));
    return oauth_error(503, "temporarily_unavailable", "the token cannot be issued now");
  }
  const auto& token = issued.value();
  auto response = http::Response::json(
      200, nlohmann::json{{"access_token", token.token},
                          {"token_type", "Bearer"},
                          {"expires_in", token.expires_in},
                          {"scope", fmt::format("{}", fmt::join(token.scopes, " "))}});
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

http::Authenticator make_authenticator(AuthConfig config) {
  return [config = std::move(config)](const std::optional<http::Credential>& credential,
                                      const http::Request& request) -> http::AuthOutcome {
    auto outcome = identify(config, credential, request);
    const auto* principal = std::get_if<http::Principal>(&outcome);
    if (principal == nullptr) return outcome;
    const auto scope = required_scope(request.method, request.route);
    if (scope && !holds_scope(*principal, *scope)) {
      return http::AuthDenial{403, missing_scope_message(*scope)};
    }
    return outcome;
  };
}

std::optional<std::string_view> required_scope(http::Method method, std::string_view route) {
  if (method == Method::Head) method = Method::Get;  // HEAD is served by the GET route
  for (const auto& rule : kScopeTable) {
    if (rule.method == method && rule.route == route) return rule.scope;
  }
  return "all";
}

bool holds_scope(const http::Principal& principal, std::string_view scope) {
  const bool read = scope.size() > kRead.size() && scope.ends_with(kRead);
  return principal.has_scope(scope) || principal.has_scope("all") ||
         (read && (principal.has_scope(scope.substr(0, scope.size() - kRead.size())) ||
                   principal.has_scope("all:read")));
}

std::optional<http::Response> require_scope(const http::Request& request, std::string_view scope) {
  if (request.principal && holds_scope(*request.principal, scope)) return std::nullopt;
  return http::Response::error(403, missing_scope_message(scope));
}

void install_oauth_routes(http::Router& router, ApiContext& context) {
  router.post(
      "/api/v2/oauth/token",
      [&context](const http::Request& request) { return issue_token(request, context); },
      http::RouteOptions{{"application/x-www-form-urlencoded"}, false});
}

}  // namespace postern::server
