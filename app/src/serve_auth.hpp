#pragma once
// Who may call what on `postern serve` (issue 9 item 7).
//
// THE SCOPE TABLE lives in serve_auth.cpp (kScopeTable: method + route pattern -> the Tailscale
// scope it needs) and nowhere else. The authenticator enforces it before any handler runs, so a
// route that requires authentication gets 403 {"message"} when the credential lacks the scope. A
// handler that needs a finer check calls require_scope(request, scope) below; the /api/v2 routes
// (tsapi_*.cpp) do so through it. A new route belongs in the table: an authenticated route missing
// from it needs the `all` scope (an API access key), never less.
//
// Credentials: an API access key or an OAuth access token (control/api_access.hpp) as
// `Authorization: Bearer TOKEN` or Basic with the token as user name; the --api-token-file token.
// Every /api/v2 route needs one, on loopback too; a missing, wrong, expired or revoked one gets
// 401 {"message"}. The /v1 routes and /metrics keep their rule: without --api-token-file on a
// loopback address the local operator may call them without a credential.

#include <optional>
#include <string>
#include <string_view>

#include "postern/control/tailnet.hpp"
#include "postern/http/router.hpp"
#include "postern/http/server.hpp"
#include "serve_routes.hpp"

namespace postern::server {

struct AuthConfig {
  control::Tailnet* tailnet = nullptr;        // keys and OAuth tokens
  std::optional<std::string> api_token_file;  // the --api-token-file token
  bool open_loopback = false;  // no token file, loopback listener: /v1 without a credential
};

http::Authenticator make_authenticator(AuthConfig config);

// The scope `method` on `route` (a pattern, e.g. "/api/v2/device/{id}") needs: from the table;
// "all" for a route missing from it; nullopt for routes any authenticated caller may use.
std::optional<std::string_view> required_scope(http::Method method, std::string_view route);

// Whether `principal` holds `scope`: itself, its write form for a `:read` scope, `all`, or
// `all:read` for a read scope.
bool holds_scope(const http::Principal& principal, std::string_view scope);

// 403 {"message"} unless the request's credential holds `scope`; nullopt to go on.
std::optional<http::Response> require_scope(const http::Request& request, std::string_view scope);

// POST /api/v2/oauth/token: the client-credentials grant (form-encoded client_id/client_secret or
// HTTP Basic client authentication), answering {access_token, token_type, expires_in, scope}.
void install_oauth_routes(http::Router& router, ApiContext& context);

}  // namespace postern::server
