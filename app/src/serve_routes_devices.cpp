// GET /v1/devices/{id}/attributes and POST/DELETE /v1/devices/{id}/attributes/{key}, in the
// shapes of Tailscale's device posture API (spec tailscale-api.md §2.6).
#include <fmt/format.h>

#include "answer_text.hpp"
#include "decision_json.hpp"
#include "postern/control/plain_json.hpp"
#include "postern/grammar/time.hpp"
#include "postern/sync/clock.hpp"
#include "serve_routes.hpp"

namespace postern::server {
namespace {

using grammar::DiagCode;

http::Response attributes_response(const control::DeviceAttributesView& view) {
  http::Response response;
  app::append_attributes_answer(response.body, view);
  return response;
}

// A string, number or boolean `value`.
std::optional<engine::AttrValue> value_of(const nlohmann::json& v) {
  if (v.is_boolean()) return engine::AttrValue(v.get<bool>());
  if (v.is_string()) return engine::AttrValue(v.get<std::string>());
  if (v.is_number()) return engine::AttrValue(v.get<double>());
  return std::nullopt;
}

struct WriteInput {
  std::optional<engine::AttrValue> value;
  std::optional<std::int64_t> expiry;
  std::string comment;
};

// {"value", "expiry"?, "comment"?} (or only "comment" for a delete). `expiry` may be Tailscale's
// zero time, which the official client sends for "no expiry".
control::Outcome<WriteInput> read_write(const nlohmann::json& body, bool needs_value) {
  if (!body.is_object()) return control::invalid(DiagCode::K802, "the body must be a JSON object");
  WriteInput in;
  for (const auto& [key, v] : body.items()) {
    if (key == "value" && needs_value) {
      in.value = value_of(v);
      if (!in.value) {
        return control::invalid(DiagCode::K802,
                                "`value` must be a string, an integer or a boolean");
      }
    } else if (key == "expiry" && needs_value) {
      if (v.is_null()) continue;
      const auto parsed = v.is_string() ? timefmt::parse_rfc3339(v.get<std::string>())
                                        : std::optional<std::int64_t>{};
      if (!parsed) {
        return control::invalid(DiagCode::K806,
                                "`expiry` must be an RFC 3339 time such as 2026-01-31T18:00:00Z");
      }
      if (!timefmt::is_zero_time(*parsed)) in.expiry = *parsed;
    } else if (key == "comment") {
      if (!v.is_string() && !v.is_null()) {
        return control::invalid(DiagCode::K807, "`comment` must be a string");
      }
      if (v.is_string()) in.comment = v.get<std::string>();
    } else {
      return control::invalid(DiagCode::K802, fmt::format("unknown field `{}`", key));
    }
  }
  if (needs_value && !in.value) return control::invalid(DiagCode::K802, "`value` is required");
  return in;
}

// The usual body ({"value"} with "expiry" and "comment" as strings) read in one pass; nothing
// for any other body, or one that breaks a rule above, which read_write then reads and answers.
std::optional<WriteInput> plain_write(const http::Request& req) {
  const auto object = control::read_plain_object(req.body, req.max_json_depth);
  if (!object) return std::nullopt;
  WriteInput in;
  for (const auto& [key, value] : object->members()) {
    const auto* text = std::get_if<std::string_view>(&value);
    if (key == "value") {
      if (text != nullptr) {
        in.value = engine::AttrValue(std::string(*text));
      } else if (const auto* number = std::get_if<double>(&value)) {
        in.value = engine::AttrValue(*number);
      } else {
        in.value = engine::AttrValue(std::get<bool>(value));
      }
    } else if (key == "expiry" && text != nullptr) {
      const auto parsed = timefmt::parse_rfc3339(std::string(*text));
      if (!parsed) return std::nullopt;
      if (!timefmt::is_zero_time(*parsed)) in.expiry = *parsed;
    } else if (key == "comment" && text != nullptr) {
      in.comment = std::string(*text);
    } else {
      return std::nullopt;
    }
  }
  if (!in.value) return std::nullopt;
  return in;
}

// Answers an edit with the device's attributes in Postern's shape, or the edit's error.
std::function<void(const control::Done&)> attributes_answer(
    std::shared_ptr<http::PendingResponse> pending, ApiContext& context, std::string device) {
  return answer_after_edit(
      std::move(pending), context, std::move(device),
      [](const control::DeviceAttributesView& view) { return attributes_response(view); },
      [&context](const control::Error& error) { return error_response(error, context.log); });
}

}  // namespace

void install_device_routes(http::Router& router, ApiContext& context) {
  router.get("/v1/devices/{id}/attributes", [&context](const http::Request& req) {
    const auto view = context.tailnet.device_attributes(*req.param("id"));
    if (!view) return error_response(view.error(), context.log);
    return attributes_response(view.value());
  });

  router.post("/v1/devices/{id}/attributes/{key}", [&context](const http::Request& req) {
    auto input = plain_write(req);
    if (!input) {
      const auto body = req.json();
      if (!body.ok()) return http::Response::error(400, body.error);
      auto read = read_write(*body.value, true);
      if (!read) return error_response(read.error(), context.log);
      input = std::move(read.value());
    }
    const auto& in = *input;
    auto pending = std::make_shared<http::PendingResponse>();
    context.tailnet.set_attribute_async(
        *req.param("id"), std::string(*req.param("key")), *in.value, in.expiry, in.comment,
        api_actor(req), attributes_answer(pending, context, std::string(*req.param("id"))));
    return http::Response::later(pending);
  });

  router.add(http::Method::Delete, "/v1/devices/{id}/attributes/{key}",
             [&context](const http::Request& req) {
               std::string comment;
               if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
                 const auto body = req.json();
                 if (!body.ok()) return http::Response::error(400, body.error);
                 const auto input = read_write(*body.value, false);
                 if (!input) return error_response(input.error(), context.log);
                 comment = input.value().comment;
               }
               auto pending = std::make_shared<http::PendingResponse>();
               context.tailnet.delete_attribute_async(
                   *req.param("id"), std::string(*req.param("key")), comment, api_actor(req),
                   attributes_answer(pending, context, std::string(*req.param("id"))));
               return http::Response::later(pending);
             });
}

}  // namespace postern::server
