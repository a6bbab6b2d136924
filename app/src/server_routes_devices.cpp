// GET /v1/devices/{id}/attributes and POST/DELETE /v1/devices/{id}/attributes/{key}, in the
// shapes of Tailscale's device posture API (spec policy-language.md §8.2, §8.3).
#include <string>

#include "decision_json.hpp"
#include "postern/sync/clock.hpp"
#include "server_attributes.hpp"
#include "server_http.hpp"

namespace postern::server {
namespace {

void send_write_result(httplib::Response& res, const WriteResult& result) {
  if (result.status == 200) return send_json(res, 200, nlohmann::json::object());
  send_error(res, result.status, result.code, result.message);
}

// The optional "comment" of a write; false after sending a 400.
bool read_comment(const nlohmann::json& body, httplib::Response& res, std::string& comment) {
  const auto c = body.find("comment");
  if (c == body.end() || c->is_null()) return true;
  if (!c->is_string()) {
    send_error(res, 400, "invalid_attribute", "`comment` must be a string");
    return false;
  }
  comment = c->get<std::string>();
  if (comment.size() > kMaxCommentLength) {
    send_error(res, 400, "invalid_attribute",
               "`comment` is longer than " + std::to_string(kMaxCommentLength) + " bytes");
    return false;
  }
  return true;
}

}  // namespace

void install_device_routes(httplib::Server& server, ApiContext& context) {
  server.Get(R"(/v1/devices/([^/]+)/attributes)", [&context](const httplib::Request& req,
                                                             httplib::Response& res) {
    const auto view = context.state.view();
    const auto& snap = *view->snapshot;
    const std::string device = req.matches[1];
    const auto index = snap.find_device(device);
    if (!index) {
      return send_error(res, 404, "unknown_device", "no single device is named `" + device + "`");
    }
    nlohmann::json attributes = nlohmann::json::object();
    nlohmann::json expiries = nlohmann::json::object();
    const auto exp_it = view->expiries->find(*index);
    for (const auto& [key, value] : snap.attributes(*index)) {
      attributes[key] = app::attr_value_json(value);
      if (exp_it == view->expiries->end()) continue;
      if (const auto e = exp_it->second.find(key); e != exp_it->second.end()) {
        expiries[key] = sync::format_rfc3339(e->second);
      }
    }
    nlohmann::json out = {{"attributes", std::move(attributes)}};
    if (!expiries.empty()) out["expiries"] = std::move(expiries);  // omitted when none (§8.2)
    send_json(res, 200, out);
  });

  server.Post(R"(/v1/devices/([^/]+)/attributes/([^/]+))", [&context](const httplib::Request& req,
                                                                      httplib::Response& res) {
    const std::string device = req.matches[1];
    const std::string key = req.matches[2];
    if (auto problem = check_custom_key(key)) {
      return send_error(res, 400, "invalid_attribute", *problem);
    }
    auto body = body_object(req, res);
    if (!body) return;
    if (auto field = unknown_field(*body, {"value", "expiry", "comment"})) {
      return send_error(res, 400, "invalid_attribute", "unknown field `" + *field + "`");
    }
    const auto v = body->find("value");
    if (v == body->end()) return send_error(res, 400, "invalid_attribute", "`value` is required");
    std::string error;
    const auto value = parse_custom_value(*v, error);
    if (!value) return send_error(res, 400, "invalid_attribute", error);
    std::optional<std::int64_t> expiry;
    if (const auto e = body->find("expiry"); e != body->end() && !e->is_null()) {
      if (e->is_string()) expiry = engine::parse_rfc3339(e->get<std::string>());
      if (!expiry) {
        return send_error(res, 400, "invalid_attribute",
                          "`expiry` must be an RFC 3339 time such as 2026-01-31T18:00:00Z");
      }
    }
    std::string comment;
    if (!read_comment(*body, res, comment)) return;
    send_write_result(res, context.state.set_attribute(device, key, *value, expiry, comment));
  });

  server.Delete(R"(/v1/devices/([^/]+)/attributes/([^/]+))", [&context](const httplib::Request& req,
                                                                        httplib::Response& res) {
    const std::string device = req.matches[1];
    const std::string key = req.matches[2];
    if (auto problem = check_custom_key(key)) {
      return send_error(res, 400, "invalid_attribute", *problem);
    }
    std::string comment;
    if (!req.body.empty()) {
      auto body = body_object(req, res);
      if (!body) return;
      if (auto field = unknown_field(*body, {"comment"})) {
        return send_error(res, 400, "invalid_attribute", "unknown field `" + *field + "`");
      }
      if (!read_comment(*body, res, comment)) return;
    }
    send_write_result(res, context.state.delete_attribute(device, key, comment));
  });
}

}  // namespace postern::server
