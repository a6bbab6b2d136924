// The device posture attribute routes of Tailscale's API (spec tailscale-api.md §2.6):
// GET /api/v2/device/{id}/attributes, POST/DELETE /api/v2/device/{id}/attributes/{key} and the
// batch PATCH /api/v2/tailnet/{tailnet}/device-attributes (JSON merge patch, all or nothing).
#include <fmt/format.h>

#include "decision_json.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/grammar/time.hpp"
#include "tsapi_common.hpp"

namespace postern::server {
namespace {

using grammar::DiagCode;
using nlohmann::json;

const std::vector<std::string> kMergePatchTypes{"application/json", "application/merge-patch+json"};

json attributes_json(const control::DeviceAttributesView& view) {
  json attributes = json::object();
  json expiries = json::object();
  for (const auto& a : view.attributes) {
    attributes[a.key] = control::attribute_value_json(a.value);
    if (a.expires_at) expiries[a.key] = timefmt::format_rfc3339(*a.expires_at);
  }
  return {{"attributes", std::move(attributes)}, {"expiries", std::move(expiries)}};
}

control::Error bad(std::string message, std::string help = {}) {
  return control::invalid(DiagCode::K802, std::move(message), std::move(help));
}

std::optional<engine::AttrValue> value_of(const json& v) {
  if (v.is_boolean()) return engine::AttrValue(v.get<bool>());
  if (v.is_string()) return engine::AttrValue(v.get<std::string>());
  if (v.is_number()) return engine::AttrValue(v.get<double>());
  return std::nullopt;
}

// `expiry`: RFC 3339, where Tailscale's zero time (what the official client sends when none is
// set) and null mean no expiry.
control::Outcome<std::optional<std::int64_t>> expiry_of(const json& v, std::string_view where) {
  if (v.is_null()) return std::optional<std::int64_t>{};
  const auto parsed =
      v.is_string() ? timefmt::parse_rfc3339(v.get<std::string>()) : std::optional<std::int64_t>{};
  if (!parsed) {
    return control::invalid(DiagCode::K806,
                            fmt::format("{}`expiry` must be an RFC 3339 time", where),
                            "e.g. 2026-01-31T18:00:00Z; 0001-01-01T00:00:00Z means none");
  }
  if (timefmt::is_zero_time(*parsed)) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{*parsed};
}

control::Outcome<std::string> comment_of(const json& v) {
  if (v.is_null()) return std::string();
  if (!v.is_string()) return control::invalid(DiagCode::K807, "`comment` must be a string");
  return v.get<std::string>();
}

struct Write {
  engine::AttrValue value;
  std::optional<std::int64_t> expiry;
  std::string comment;
};

// {"value", "expiry"?, "comment"?}; other fields are refused so a typo never passes unnoticed.
control::Outcome<Write> read_write(const json& body) {
  std::optional<engine::AttrValue> value;
  Write out;
  for (const auto& [key, v] : body.items()) {
    if (key == "value") {
      value = value_of(v);
      if (!value) return bad("`value` must be a string, an integer or a boolean");
    } else if (key == "expiry") {
      auto expiry = expiry_of(v, "");
      if (!expiry) return expiry.error();
      out.expiry = expiry.value();
    } else if (key == "comment") {
      auto comment = comment_of(v);
      if (!comment) return comment.error();
      out.comment = comment.value();
    } else {
      return bad(fmt::format("unknown field `{}`", key), "the fields are value, expiry, comment");
    }
  }
  if (!value) return bad("`value` is required", R"(e.g. {"value": true})");
  out.value = *value;
  return out;
}

// {"nodes": {device: {key: {"value", "expiry"?} | null}}, "comment"?} as edits.
control::Outcome<std::vector<control::AttributeEdit>> read_patch(const json& body,
                                                                 std::string& comment) {
  std::vector<control::AttributeEdit> edits;
  bool has_nodes = false;
  for (const auto& [field, v] : body.items()) {
    if (field == "comment") {
      auto c = comment_of(v);
      if (!c) return c.error();
      comment = c.value();
      continue;
    }
    if (field != "nodes") {
      return bad(fmt::format("unknown field `{}`", field), "the fields are nodes, comment");
    }
    if (!v.is_object()) return bad("`nodes` must map device ids to attribute changes");
    has_nodes = true;
    for (const auto& [device, changes] : v.items()) {
      if (!changes.is_object()) {
        return bad(fmt::format("nodes.{} must map attribute keys to changes", device));
      }
      for (const auto& [key, change] : changes.items()) {
        const std::string where = fmt::format("nodes.{}.{}: ", device, key);
        control::AttributeEdit edit{device, key, std::nullopt, std::nullopt};
        if (!change.is_null()) {
          if (!change.is_object()) {
            return bad(where + "a change is {\"value\": ...} or null (delete)");
          }
          for (const auto& [name, item] : change.items()) {
            if (name == "value") {
              edit.value = value_of(item);
              if (!edit.value)
                return bad(where + "`value` must be a string, an integer or a boolean");
            } else if (name == "expiry") {
              auto expiry = expiry_of(item, where);
              if (!expiry) return expiry.error();
              edit.expiry = expiry.value();
            } else {
              return bad(where + fmt::format("unknown field `{}`", name),
                         "a change has value and expiry");
            }
          }
          if (!edit.value) return bad(where + "`value` is required (null deletes the key)");
        }
        edits.push_back(std::move(edit));
      }
    }
  }
  if (!has_nodes)
    return bad("`nodes` is required", R"(e.g. {"nodes": {"nodeId": {"custom:x": {"value": 1}}}})");
  return edits;
}

// Answers an edit with the device's attributes in Tailscale's shape, or the edit's error.
std::function<void(const control::Done&)> attributes_answer(
    std::shared_ptr<http::PendingResponse> pending, ApiContext& context, std::string device) {
  return answer_after_edit(
      std::move(pending), context, std::move(device),
      [](const control::DeviceAttributesView& view) {
        return http::Response::json(200, attributes_json(view));
      },
      [&context](const control::Error& error) { return ts_error(error, context.log); });
}

http::Response get_attributes(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "devices:posture_attributes:read")) return *denied;
  const auto view = context.tailnet.device_attributes(*req.param("id"));
  if (!view) return ts_error(view.error(), context.log);
  return http::Response::json(200, attributes_json(view.value()));
}

http::Response set_attribute(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "devices:posture_attributes")) return *denied;
  auto body = object_body(req);
  if (body.error) return *body.error;
  const auto input = read_write(body.value);
  if (!input) return ts_error(input.error(), context.log);
  const auto& in = input.value();
  auto pending = std::make_shared<http::PendingResponse>();
  context.tailnet.set_attribute_async(
      *req.param("id"), std::string(*req.param("key")), in.value, in.expiry, in.comment,
      api_actor(req), attributes_answer(pending, context, std::string(*req.param("id"))));
  return http::Response::later(pending);
}

http::Response delete_attribute(const http::Request& req, ApiContext& context) {
  if (auto denied = require_scope(req, "devices:posture_attributes")) return *denied;
  std::string comment;
  if (!blank_body(req)) {
    auto body = object_body(req);
    if (body.error) return *body.error;
    for (const auto& [key, v] : body.value.items()) {
      if (key != "comment")
        return ts_error(bad(fmt::format("unknown field `{}`", key)), context.log);
      auto c = comment_of(v);
      if (!c) return ts_error(c.error(), context.log);
      comment = c.value();
    }
  }
  auto pending = std::make_shared<http::PendingResponse>();
  context.tailnet.delete_attribute_async(
      *req.param("id"), std::string(*req.param("key")), comment, api_actor(req),
      attributes_answer(pending, context, std::string(*req.param("id"))));
  return http::Response::later(pending);
}

http::Response patch_attributes(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "devices:posture_attributes")) return *denied;
  auto body = object_body(req);
  if (body.error) return *body.error;
  std::string comment;
  const auto edits = read_patch(body.value, comment);
  if (!edits) return ts_error(edits.error(), context.log);
  auto pending = std::make_shared<http::PendingResponse>();
  context.tailnet.edit_attributes_async(
      edits.value(), comment, api_actor(req), [pending, &context](const control::Done& done) {
        if (!done) return pending->complete(ts_error(done.error(), context.log));
        pending->complete(http::Response::json(200, nullptr));  // the API's schema: `null`
      });
  return http::Response::later(pending);
}

}  // namespace

void install_tailscale_attribute_routes(http::Router& router, ApiContext& context) {
  router.get("/api/v2/device/{id}/attributes",
             [&context](const http::Request& req) { return get_attributes(req, context); });
  router.post("/api/v2/device/{id}/attributes/{key}",
              [&context](const http::Request& req) { return set_attribute(req, context); });
  router.add(http::Method::Delete, "/api/v2/device/{id}/attributes/{key}",
             [&context](const http::Request& req) { return delete_attribute(req, context); });
  router.add(
      http::Method::Patch, "/api/v2/tailnet/{tailnet}/device-attributes",
      [&context](const http::Request& req) { return patch_attributes(req, context); },
      http::RouteOptions{kMergePatchTypes, true});
}

}  // namespace postern::server
