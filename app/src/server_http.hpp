#pragma once
// The JSON API of `postern serve` (routes in server_routes_*.cpp). Every response is JSON; errors
// are {"error": {"code", "message"}} with a 4xx/5xx status. With an API token configured every
// route requires `Authorization: Bearer <token>`; the token is never logged or echoed.

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "server_log.hpp"
#include "server_state.hpp"

namespace postern::server {

class SyncRunner;

struct ApiContext {
  LiveState& state;
  Log& log;
  SyncRunner* sync = nullptr;        // set with --sync
  std::optional<std::string> token;  // --api-token-file
  bool access_log = false;           // one log line per request (method, path, status)
};

inline constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxBatchQueries = 100'000;

// Registers every route and the auth, error and exception handlers. `context` must outlive
// `server`.
void install_api(httplib::Server& server, ApiContext& context);

// ---- shared by the route files ----

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, int status, std::string_view code,
                std::string_view message);
// The request body as a JSON object; nullopt after sending a 400 when it is not one.
std::optional<nlohmann::json> body_object(const httplib::Request& req, httplib::Response& res);
// The first key of `object` not in `allowed`, if any (unknown fields are rejected, not ignored:
// a misspelt `srcPostureAttrs` must not silently change an answer).
std::optional<std::string> unknown_field(const nlohmann::json& object,
                                         std::initializer_list<std::string_view> allowed);

void install_query_routes(httplib::Server& server, ApiContext& context);
void install_device_routes(httplib::Server& server, ApiContext& context);
void install_admin_routes(httplib::Server& server, ApiContext& context);

}  // namespace postern::server
