#pragma once
// The admin console on `postern serve`: its files at / and /console/*, sign-in sessions at
// /console/session, and the small /v1 routes it reads (app/src/serve_routes_console_data.cpp).

#include "postern/http/router.hpp"
#include "postern/http/server.hpp"
#include "serve_routes.hpp"

namespace postern::server {

// Adds the routes and wraps `options.authenticator` (set it first) so that a console session
// cookie plus its CSRF header authenticates /api/v2 and /v1 requests.
void install_console(http::Router& router, ApiContext& context, http::ServerOptions& options);

// GET /v1/devices/{id}/postures, /v1/devices/{id}/attribute-details, /v1/postures,
// /v1/policy/versions.
void install_console_data_routes(http::Router& router, ApiContext& context);

}  // namespace postern::server
