// The posture integration routes of Tailscale's API (spec tailscale-api.md §2.7): list and create
// under /api/v2/tailnet/{tailnet}/posture/integrations, get/PATCH/DELETE at the tailnet-less
// /api/v2/posture/integrations/{id}. Kandji's API URL is `cloudId`, its token `clientSecret`
// (write-only: never in a response).
#include <fmt/format.h>

#include "postern/control/integration_api.hpp"
#include "postern/grammar/time.hpp"
#include "tsapi_common.hpp"

namespace postern::server {
namespace {

using grammar::DiagCode;
using nlohmann::json;

json integration_json(const control::IntegrationView& view, Log& log) {
  const auto& i = view.integration;
  json out = {{"id", control::integration_api_id(i)},
              {"provider", i.provider},
              {"cloudId", control::integration_cloud_id(i)},
              {"clientId", ""},
              {"tenantId", ""},
              {"configUpdated", timefmt::format_rfc3339(i.updated_at)}};
  const auto& s = view.status;
  if (s.last_attempt) {  // absent until the first sync, as Tailscale's
    json status = {{"lastSync", timefmt::format_rfc3339(*s.last_attempt)},
                   {"providerHostCount", s.provider_host_count},
                   {"matchedCount", s.matched_count},
                   {"possibleMatchedCount", s.possible_matched_count}};
    if (!s.last_error.empty()) status["error"] = log.scrub(s.last_error);
    out["status"] = std::move(status);
  }
  return out;
}

struct Fields {
  std::optional<std::string> provider, cloud_id, client_id, tenant_id, client_secret;
};

// The PostureIntegration fields; anything else (or a non-string) is refused.
control::Outcome<Fields> read_fields(const json& body) {
  Fields f;
  for (const auto& [key, v] : body.items()) {
    std::optional<std::string>* slot = key == "provider"       ? &f.provider
                                       : key == "cloudId"      ? &f.cloud_id
                                       : key == "clientId"     ? &f.client_id
                                       : key == "tenantId"     ? &f.tenant_id
                                       : key == "clientSecret" ? &f.client_secret
                                                               : nullptr;
    if (key == "id" || key == "configUpdated" || key == "status") continue;  // read-only
    if (slot == nullptr) {
      return control::invalid(DiagCode::Y606, fmt::format("unknown field `{}`", key),
                              "the fields are provider, cloudId, clientId, tenantId, "
                              "clientSecret");
    }
    if (v.is_null()) continue;
    if (!v.is_string()) {
      return control::invalid(DiagCode::Y606, fmt::format("`{}` must be a string", key));
    }
    *slot = v.get<std::string>();
  }
  return f;
}

http::Response list_integrations(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "feature_settings:read")) return *denied;
  const auto all = context.tailnet.integrations();
  if (!all) return ts_error(all.error(), context.log);
  json list = json::array();
  for (const auto& v : all.value()) list.push_back(integration_json(v, context.log));
  return http::Response::json(200, {{"integrations", std::move(list)}});
}

http::Response create_integration(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "feature_settings")) return *denied;
  auto body = object_body(req);
  if (body.error) return *body.error;
  const auto fields = read_fields(body.value);
  if (!fields) return ts_error(fields.error(), context.log);
  const auto& f = fields.value();
  if (!f.provider || f.provider->empty()) {
    return http::Response::error(400, "`provider` is required, e.g. \"kandji\"");
  }
  if (auto e = control::check_unused_credentials(*f.provider, f.client_id.value_or(""),
                                                 f.tenant_id.value_or(""))) {
    return ts_error(*e, context.log);
  }
  const auto created = context.tailnet.create_integration(
      *f.provider, f.cloud_id.value_or(""), f.client_secret.value_or(""), api_actor(req));
  if (!created) return ts_error(created.error(), context.log);
  return http::Response::json(200, integration_json(created.value(), context.log));
}

http::Response get_integration(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "feature_settings:read")) return *denied;
  const auto found = control::integration_by_api_id(context.tailnet, *req.param("id"));
  if (!found) return ts_error(found.error(), context.log);
  return http::Response::json(200, integration_json(found.value(), context.log));
}

http::Response update_integration(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "feature_settings")) return *denied;
  auto body = object_body(req);
  if (body.error) return *body.error;
  const auto fields = read_fields(body.value);
  if (!fields) return ts_error(fields.error(), context.log);
  const auto found = control::integration_by_api_id(context.tailnet, *req.param("id"));
  if (!found) return ts_error(found.error(), context.log);
  const auto& f = fields.value();
  const std::string provider = found.value().integration.provider;
  if (auto e = control::check_unused_credentials(provider, f.client_id.value_or(""),
                                                 f.tenant_id.value_or(""))) {
    return ts_error(*e, context.log);
  }
  control::IntegrationChange change;
  change.url = f.cloud_id;
  change.token = f.client_secret;  // omitted: the old token stays (a new URL needs one)
  if (!change.url && !change.token) {
    return http::Response::json(200, integration_json(found.value(), context.log));
  }
  const auto updated = context.tailnet.update_integration(provider, change, api_actor(req));
  if (!updated) return ts_error(updated.error(), context.log);
  return http::Response::json(200, integration_json(updated.value(), context.log));
}

http::Response delete_integration(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "feature_settings")) return *denied;
  const auto found = control::integration_by_api_id(context.tailnet, *req.param("id"));
  if (!found) return ts_error(found.error(), context.log);
  const auto done =
      context.tailnet.delete_integration(found.value().integration.provider, api_actor(req));
  if (!done) return ts_error(done.error(), context.log);
  return http::Response::json(200, json::object());
}

}  // namespace

void install_tailscale_integration_routes(http::Router& router, ApiContext& context) {
  const std::string list = "/api/v2/tailnet/{tailnet}/posture/integrations";
  const std::string one = "/api/v2/posture/integrations/{id}";
  router.get(list,
             [&context](const http::Request& req) { return list_integrations(req, context); });
  router.post(list,
              [&context](const http::Request& req) { return create_integration(req, context); });
  router.get(one, [&context](const http::Request& req) { return get_integration(req, context); });
  router.add(http::Method::Patch, one,
             [&context](const http::Request& req) { return update_integration(req, context); });
  router.add(http::Method::Delete, one,
             [&context](const http::Request& req) { return delete_integration(req, context); });
}

}  // namespace postern::server
