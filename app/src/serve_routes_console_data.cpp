// What the console needs that the Tailscale API does not give: each device's posture results
// and the policy's version history. Each route calls one control function.
#include <fmt/format.h>

#include <charconv>

#include "decision_json.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/control/device_postures.hpp"
#include "postern/grammar/time.hpp"
#include "serve_console.hpp"

namespace postern::server {
namespace {

constexpr std::size_t kDefaultVersions = 20;
constexpr std::size_t kMaxVersions = 200;

nlohmann::json failure_json(const grammar::SourceFile& file, const engine::ConditionFailure& c) {
  return {{"condition", c.text},
          {"attribute", c.attribute},
          {"expected", c.expected},
          {"actual", c.actual ? control::attribute_value_json(*c.actual) : nlohmann::json(nullptr)},
          {"line", file.line_col(c.span.begin).line}};
}

nlohmann::json device_postures_json(const engine::Snapshot& snap,
                                    const control::DevicePostures& view) {
  nlohmann::json postures = nlohmann::json::array();
  for (const auto& r : view.postures) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& c : r.failures) failures.push_back(failure_json(snap.file(), c));
    postures.push_back({{"posture", r.posture}, {"pass", r.pass}, {"failed", std::move(failures)}});
  }
  return {{"device", view.device_key}, {"exempt", view.exempt}, {"postures", std::move(postures)}};
}

std::optional<std::size_t> limit_of(const http::Request& req) {
  const auto text = req.query.get("limit");
  if (!text) return kDefaultVersions;
  std::size_t value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc{} || ptr != end || value == 0 || value > kMaxVersions) return std::nullopt;
  return value;
}

}  // namespace

void install_console_data_routes(http::Router& router, ApiContext& context) {
  router.get("/v1/devices/{id}/postures", [&context](const http::Request& req) {
    const auto snap = context.tailnet.snapshot();
    const auto view = control::device_postures(*snap, *req.param("id"));
    if (!view) return error_response(view.error(), context.log);
    return http::Response::json(200, device_postures_json(*snap, view.value()));
  });

  // Every attribute with where it came from and when it was last written.
  router.get("/v1/devices/{id}/attribute-details", [&context](const http::Request& req) {
    const auto view = context.tailnet.device_attributes(*req.param("id"));
    if (!view) return error_response(view.error(), context.log);
    nlohmann::json attributes = nlohmann::json::array();
    for (const auto& a : view.value().attributes) {
      attributes.push_back(
          {{"key", a.key},
           {"value", control::attribute_value_json(a.value)},
           {"source", a.source},
           {"updatedAt", a.updated_at ? nlohmann::json(timefmt::format_rfc3339(*a.updated_at))
                                      : nlohmann::json(nullptr)},
           {"expiresAt", a.expires_at ? nlohmann::json(timefmt::format_rfc3339(*a.expires_at))
                                      : nlohmann::json(nullptr)}});
    }
    return http::Response::json(
        200, {{"device", view.value().device_key}, {"attributes", std::move(attributes)}});
  });

  // Every device's passing postures, as indices into `postures` (compact at 10,000 devices).
  router.get("/v1/postures", [&context](const http::Request&) {
    const auto table = control::posture_table(*context.tailnet.snapshot());
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& row : table.devices) {
      devices.push_back(
          {{"id", row.device_key}, {"passing", row.passing}, {"attributes", row.attributes}});
    }
    return http::Response::json(200,
                                {{"postures", table.postures}, {"devices", std::move(devices)}});
  });

  // Newest first, each with its full text so the console can show diffs.
  router.get("/v1/policy/versions", [&context](const http::Request& req) {
    const auto limit = limit_of(req);
    if (!limit) {
      return http::Response::error(
          400, fmt::format("`limit` must be a whole number from 1 to {}", kMaxVersions));
    }
    const auto history = context.tailnet.policy_history(*limit);
    if (!history) return error_response(history.error(), context.log);
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : history.value()) {
      versions.push_back({{"id", v.id},
                          {"time", timefmt::format_rfc3339(v.time)},
                          {"actor", v.actor},
                          {"origin", v.origin},
                          {"text", v.text}});
    }
    return http::Response::json(200, {{"versions", std::move(versions)}});
  });
}

}  // namespace postern::server
