// The policy file routes of Tailscale's API (spec tailscale-api.md §2.1-§2.4):
// GET/POST /api/v2/tailnet/{tailnet}/acl, POST .../acl/validate, POST .../acl/preview.
#include <fmt/format.h>

#include "postern/control/policy_precondition.hpp"
#include "postern/control/policy_preview.hpp"
#include "postern/control/policy_tests_request.hpp"
#include "postern/grammar/hujson.hpp"
#include "postern/http/credentials.hpp"
#include "tsapi_common.hpp"

namespace postern::server {
namespace {

using nlohmann::json;

const std::vector<std::string> kPolicyTypes{"application/json", "application/hujson"};

// `Accept: application/json` asks for JSON; anything else (absent, */*, application/hujson)
// gets the HuJSON text. The first of the two named wins.
bool wants_json(const http::Request& request) {
  const auto accept = request.headers.get("Accept");
  if (!accept) return false;
  const auto json_at = accept->find("application/json");
  const auto hujson_at = accept->find("application/hujson");
  return json_at != std::string_view::npos &&
         (hujson_at == std::string_view::npos || json_at < hujson_at);
}

// "line L, column C: message" (gitops-pusher turns these into annotations).
std::string located(const grammar::SourceFile& file, const grammar::Diagnostic& d) {
  const auto at = file.line_col(d.span.begin);
  return fmt::format("line {}, column {}: {}", at.line, at.column, d.message);
}

// Tailscale's verdict body: {} when accepted, else {"message", "data": [{user?, errors,
// warnings?}]}.
json verdict_body(const control::PolicyVerdict& verdict) {
  const auto& loaded = verdict.loaded;
  if (!loaded.ok()) {
    json errors = json::array();
    for (const auto& d : loaded.diags) {
      if (d.severity == grammar::Severity::Error) errors.push_back(located(loaded.file, d));
    }
    const std::string message =
        errors.empty() ? std::string("the policy file is invalid") : errors[0].get<std::string>();
    return {{"message", message}, {"data", json::array({json{{"errors", std::move(errors)}}})}};
  }
  if (verdict.tests && !verdict.tests->passed) {
    json data = json::array();
    for (const auto& f : verdict.tests->failures) {
      json entry = {{"user", f.user}, {"errors", f.errors}};
      if (!f.warnings.empty()) entry["warnings"] = f.warnings;
      data.push_back(std::move(entry));
    }
    return {{"message", "test(s) failed"}, {"data", std::move(data)}};
  }
  return json::object();
}

// The policy as stored, JSON or HuJSON by `Accept`, with its ETag.
http::Response policy_response(const control::PolicyState& policy, const http::Request& request) {
  http::Response response;
  if (wants_json(request)) {
    const auto standard =
        grammar::hujson::standardize(grammar::SourceFile("policy.hujson", policy.text));
    const json parsed = standard.value ? json::parse(*standard.value, nullptr, false)
                                       : json(json::value_t::discarded);
    if (parsed.is_discarded()) {
      return http::Response::error(500, "the stored policy cannot be converted to JSON");
    }
    response = http::Response::json(200, parsed);
  } else {
    response.status = 200;
    response.content_type = "application/hujson";
    response.body = policy.text;
  }
  response.headers.emplace_back("ETag", control::policy_etag(policy));
  return response;
}

http::Response details_response(const control::PolicyState& policy, ApiContext& context) {
  const auto verdict = context.tailnet.validate_policy(policy.text, "policy.hujson");
  json warnings = json::array();
  for (const auto& d : verdict.loaded.diags) {
    if (d.severity == grammar::Severity::Warning) warnings.push_back(d.message);
  }
  auto response = http::Response::json(200, {{"acl", http::base64_encode(policy.text)},
                                             {"warnings", std::move(warnings)},
                                             {"errors", nullptr}});
  response.headers.emplace_back("ETag", control::policy_etag(policy));
  return response;
}

http::Response get_policy(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "policy_file:read")) return *denied;
  const auto policy = context.tailnet.policy();
  const auto details = req.query.get("details");
  if (details && (*details == "1" || *details == "true")) return details_response(policy, context);
  return policy_response(policy, req);
}

http::Response set_policy(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "policy_file")) return *denied;
  const auto current = context.tailnet.policy();
  auto expected = control::expected_version(current, req.headers.get("If-Match"));
  if (!expected) return http::Response::error(412, control::kPreconditionFailed);
  // An empty body resets to the default policy (Terraform's reset_acl_on_destroy).
  std::string text = blank_body(req) ? std::string(control::kDefaultPolicy) : req.body;
  control::PolicyVerdict verdict;
  const auto saved =
      context.tailnet.replace_policy(std::move(text), api_actor(req), expected.value(), &verdict);
  if (saved) return policy_response(saved.value(), req);
  const auto& error = saved.error();
  if (error.kind == control::ErrorKind::Precondition) {
    return http::Response::error(412, control::kPreconditionFailed);
  }
  if (error.code == grammar::DiagCode::K810 || error.code == grammar::DiagCode::K811) {
    return http::Response::json(400, verdict_body(verdict));
  }
  return ts_error(error, context.log);
}

// Always 200 with {} or {message, data}: a failing test is the answer, not an error.
http::Response validate_policy(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "policy_file:read")) return *denied;
  const auto start = req.body.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    return http::Response::error(
        400, "send a policy file, or a JSON array of tests to run against the current policy");
  }
  if (req.body[start] != '[') {
    return http::Response::json(
        200, verdict_body(context.tailnet.validate_policy(req.body, "policy.hujson")));
  }
  const auto tests = req.json();
  if (!tests.ok()) return http::Response::json(200, {{"message", tests.error}});
  const auto verdict = control::validate_tests(context.tailnet, *tests.value);
  if (!verdict) {
    if (verdict.error().kind == control::ErrorKind::Invalid) {
      return http::Response::json(200, {{"message", verdict.error().message}});
    }
    return ts_error(verdict.error(), context.log);
  }
  return http::Response::json(200, verdict_body(verdict.value()));
}

json match_json(const control::PreviewMatch& m) {
  json out = {{"users", m.users},
              {"ports", m.ports},
              {"lineNumber", m.line_number},
              {"postures", m.postures}};
  if (!m.via.empty()) out["via"] = m.via;
  return out;
}

http::Response preview_policy(const http::Request& req, ApiContext& context) {
  if (auto denied = require_tailnet(req, context)) return *denied;
  if (auto denied = require_scope(req, "policy_file:read")) return *denied;
  const auto type_text = req.query.get("type");
  const auto type = type_text ? control::parse_preview_type(*type_text) : std::nullopt;
  if (!type) {
    return http::Response::error(400, "`type` must be `user` or `ipport`");
  }
  const std::string preview_for(req.query.get("previewFor").value_or(""));
  // No body previews the current policy.
  std::string text = blank_body(req) ? context.tailnet.policy().text : req.body;
  const auto preview = control::preview_policy(std::move(text), *type, preview_for,
                                               *context.tailnet.effective_inventory());
  if (!preview) return ts_error(preview.error(), context.log);
  const auto& p = preview.value();
  json matches = json::array();
  for (const auto& m : p.matches) matches.push_back(match_json(m));
  json body = {{"matches", std::move(matches)},
               {"type", std::string(control::preview_type_name(p.type))},
               {"previewFor", p.preview_for}};
  if (!p.postures.empty()) body["postures"] = p.postures;
  return http::Response::json(200, body);
}

}  // namespace

void install_tailscale_policy_routes(http::Router& router, ApiContext& context) {
  const http::RouteOptions any_type{{}, true};
  const http::RouteOptions policy_body{kPolicyTypes, true};
  router.get(
      "/api/v2/tailnet/{tailnet}/acl",
      [&context](const http::Request& req) { return get_policy(req, context); }, any_type);
  router.post(
      "/api/v2/tailnet/{tailnet}/acl",
      [&context](const http::Request& req) { return set_policy(req, context); }, policy_body);
  router.post(
      "/api/v2/tailnet/{tailnet}/acl/validate",
      [&context](const http::Request& req) { return validate_policy(req, context); }, policy_body);
  router.post(
      "/api/v2/tailnet/{tailnet}/acl/preview",
      [&context](const http::Request& req) { return preview_policy(req, context); }, policy_body);
}

}  // namespace postern::server
