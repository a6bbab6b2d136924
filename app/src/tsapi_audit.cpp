// The configuration audit log route of Tailscale's API (spec tailscale-api.md §2.8):
// GET /api/v2/tailnet/{tailnet}/logging/configuration?start=&end= with actor, target and event
// filters (each repeatable).
#include <fmt/format.h>

#include "postern/control/configuration_log.hpp"
#include "postern/grammar/time.hpp"
#include "tsapi_common.hpp"

namespace postern::server {
namespace {

std::vector<std::string> all_of(const http::Request& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto v : req.query.get_all(name)) out.emplace_back(v);
  return out;
}

http::Response configuration_log(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "logs:configuration:read")) return *denied;
  control::ConfigurationLogQuery query;
  for (const auto& [name, slot] : {std::pair{"start", &query.start}, {"end", &query.end}}) {
    const auto text = req.query.get(name);
    const auto parsed = text ? timefmt::parse_rfc3339(*text) : std::nullopt;
    if (!parsed) {
      return http::Response::error(
          400,
          fmt::format("`{}` is required: an RFC 3339 time such as 2026-01-31T18:00:00Z", name));
    }
    *slot = *parsed;
  }
  query.actors = all_of(req, "actor");
  query.targets = all_of(req, "target");
  query.events = all_of(req, "event");
  const auto log = control::configuration_log(context.tailnet, query, tailnet_label(context));
  if (!log) return ts_error(log.error(), context.log);
  return http::Response::json(200, log.value());
}

}  // namespace

void install_tailscale_audit_routes(http::Router& router, ApiContext& context) {
  router.get("/api/v2/tailnet/{tailnet}/logging/configuration",
             [&context](const http::Request& req) { return configuration_log(req, context); });
}

}  // namespace postern::server
