#pragma once
// What every Tailscale API v2 route (app/src/tsapi_*.cpp, spec tailscale-api.md) shares: its
// error body ({"message"}, which the official clients decode into APIError) and the `{tailnet}`
// path segment. Scopes are checked with serve_auth.hpp's require_scope.

#include <optional>
#include <string>
#include <string_view>

#include "postern/control/outcome.hpp"
#include "postern/http/message.hpp"
#include "serve_auth.hpp"  // require_scope: the scope check every route makes
#include "serve_routes.hpp"

namespace postern::server {

// The control layer's error with the status of its kind; the fix, when there is one, is part of
// the message (clients show only `message`).
http::Response ts_error(const control::Error& error, Log& log);

// 404 "tailnet not found" unless the `{tailnet}` segment is "-" or this tailnet's name.
std::optional<http::Response> require_tailnet(const http::Request& request,
                                              const ApiContext& context);

// The tailnet's name for response bodies: its DNS name, else "-".
std::string tailnet_label(const ApiContext& context);

// True when the body is empty or whitespace only.
bool blank_body(const http::Request& request);

// The body as a JSON object, or a 400 saying what is wrong with it.
struct ObjectBody {
  nlohmann::json value;
  std::optional<http::Response> error;
};
ObjectBody object_body(const http::Request& request);

}  // namespace postern::server

namespace postern::server {

// One per tsapi_*.cpp file; install_tailscale_routes (serve_routes.hpp) calls them all.
void install_tailscale_policy_routes(http::Router& router, ApiContext& context);
void install_tailscale_device_routes(http::Router& router, ApiContext& context);
void install_tailscale_attribute_routes(http::Router& router, ApiContext& context);
void install_tailscale_integration_routes(http::Router& router, ApiContext& context);
void install_tailscale_audit_routes(http::Router& router, ApiContext& context);

}  // namespace postern::server
