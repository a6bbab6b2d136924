#include "tsapi_common.hpp"

#include <fmt/format.h>

#include "postern/control/device_objects.hpp"

namespace postern::server {

http::Response ts_error(const control::Error& error, Log& log) {
  http::Response response = error_response(error, log);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && !error.help.empty()) {
    body["message"] = log.scrub(fmt::format("{} ({})", error.message, error.help));
  }
  return http::Response::json(response.status, body);
}

std::optional<http::Response> require_tailnet(const http::Request& request,
                                              const ApiContext& context) {
  const auto given = request.param("tailnet");
  if (given && control::names_tailnet(*given, context.tailnet.snapshot()->inventory())) {
    return std::nullopt;
  }
  return http::Response::error(
      404, fmt::format("tailnet not found: use `-` or `{}`", tailnet_label(context)));
}

std::string tailnet_label(const ApiContext& context) {
  const auto name = control::tailnet_dns_name(context.tailnet.snapshot()->inventory());
  return name.empty() ? std::string("-") : name;
}

bool blank_body(const http::Request& request) {
  return request.body.find_first_not_of(" \t\r\n") == std::string::npos;
}

ObjectBody object_body(const http::Request& request) {
  ObjectBody out;
  if (blank_body(request)) {
    out.error = http::Response::error(400, "the request needs a JSON object as its body");
    return out;
  }
  auto parsed = request.json();
  if (!parsed.ok()) {
    out.error = http::Response::error(400, parsed.error);
    return out;
  }
  if (!parsed.value->is_object()) {
    out.error = http::Response::error(400, "the body must be a JSON object");
    return out;
  }
  out.value = std::move(*parsed.value);
  return out;
}

void install_tailscale_routes(http::Router& router, ApiContext& context) {
  install_tailscale_policy_routes(router, context);
  install_tailscale_device_routes(router, context);
  install_tailscale_attribute_routes(router, context);
  install_tailscale_integration_routes(router, context);
  install_tailscale_audit_routes(router, context);
}

}  // namespace postern::server
