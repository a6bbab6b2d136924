// The device routes of Tailscale's API (spec tailscale-api.md §2.5):
// GET /api/v2/tailnet/{tailnet}/devices (fields, <field>=<value> filters) and
// GET /api/v2/device/{id} (nodeId or numeric id).
#include <fmt/format.h>

#include "postern/control/device_objects.hpp"
#include "tsapi_common.hpp"

namespace postern::server {
namespace {

http::Response list_devices(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "devices:core:read")) return *denied;
  const auto fields = control::parse_device_fields(req.query.get("fields"));
  if (!fields) return ts_error(fields.error(), context.log);
  const auto filters = control::parse_device_filters(req.query.entries());
  if (!filters) return ts_error(filters.error(), context.log);
  const auto snapshot = context.tailnet.snapshot();
  nlohmann::json devices = nlohmann::json::array();
  for (auto& d : control::list_devices(snapshot->inventory(), fields.value(), filters.value())) {
    devices.push_back(std::move(d));
  }
  // Exactly one key: the official client decodes the body as map[string][]Device.
  return http::Response::json(200, {{"devices", std::move(devices)}});
}

http::Response get_device(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "devices:core:read")) return *denied;
  const auto fields = control::parse_device_fields(req.query.get("fields"));
  if (!fields) return ts_error(fields.error(), context.log);
  const auto snapshot = context.tailnet.snapshot();
  const auto& inventory = snapshot->inventory();
  const std::string_view id = *req.param("id");
  const auto index = control::find_device_by_id(inventory, id);
  if (!index) {
    return http::Response::error(
        404, fmt::format("device not found: no device has nodeId or id `{}`", id));
  }
  return http::Response::json(200,
                              control::device_object(inventory.devices[*index], fields.value()));
}

}  // namespace

void install_tailscale_device_routes(http::Router& router, ApiContext& context) {
  router.get("/api/v2/tailnet/{tailnet}/devices",
             [&context](const http::Request& req) { return list_devices(req, context); });
  router.get("/api/v2/device/{id}",
             [&context](const http::Request& req) { return get_device(req, context); });
}

}  // namespace postern::server
