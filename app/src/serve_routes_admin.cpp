// GET /v1/health, GET /v1/integrations, POST /v1/integrations/{provider}/sync, POST /v1/validate.
#include <fmt/format.h>

#include "cli_support.hpp"
#include "integration_json.hpp"
#include "postern/grammar/hujson_format.hpp"
#include "postern/sync/clock.hpp"
#include "serve_routes.hpp"

namespace postern::server {
namespace {

// The policy's tests failed: Tailscale's ACLTestFailureSummary list.
nlohmann::json test_failures_json(const engine::TestRunResult& tests) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& f : tests.failures) {
    data.push_back({{"user", f.user}, {"errors", f.errors}, {"warnings", f.warnings}});
  }
  return data;
}

// {} when the policy is accepted, else {"message", "data"} (Tailscale's /acl/validate shape;
// `message` is the first error as `line L, column C: message`).
nlohmann::json verdict_json(const control::PolicyVerdict& verdict) {
  const auto& loaded = verdict.loaded;
  if (!loaded.ok()) {
    nlohmann::json errors = nlohmann::json::array();
    std::string message;
    for (const auto& d : loaded.diags) {
      if (d.severity != grammar::Severity::Error) continue;
      auto j = app::diagnostics_json(loaded.file, {d})[0];
      if (message.empty()) {
        message =
            fmt::format("line {}, column {}: {}", j["line"].dump(), j["column"].dump(), d.message);
      }
      errors.push_back(std::move(j));
    }
    return {{"message", message}, {"data", std::move(errors)}};
  }
  if (verdict.tests && !verdict.tests->passed) {
    return {{"message", "test(s) failed"}, {"data", test_failures_json(*verdict.tests)}};
  }
  return nlohmann::json::object();
}

// Whether "sync now" can be answered: this server runs the sync, or it is a replica, which makes
// the run due in the shared store for the lease holder.
bool accepts_sync_now(const ApiContext& context) {
  return context.sync || context.tailnet.is_replica();
}

}  // namespace

void install_admin_routes(http::Router& router, ApiContext& context) {
  router.get("/v1/health", [&context](const http::Request&) {
    const auto policy = context.tailnet.policy();
    // The ETag names the text served whether or not it is stored (version 0: not stored).
    return http::Response::json(200, {{"status", "ok"},
                                      {"policyVersion", policy.version},
                                      {"policyEtag", grammar::hujson::policy_etag(policy.text)},
                                      {"policyGeneration", policy.generation},
                                      {"policyLoadedAt", sync::format_rfc3339(policy.loaded_at)},
                                      {"devices", context.tailnet.snapshot()->device_count()},
                                      {"sync", context.sync}});
  });

  router.get("/v1/integrations", [&context](const http::Request&) {
    auto all = context.tailnet.integrations();
    if (!all) return error_response(all.error(), context.log);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& v : all.value()) {
      auto entry = app::integration_json(v, context.tailnet.now());
      // The stored error is redacted already; scrubbing again also hides this server's secrets.
      if (entry["lastError"].is_string()) {
        entry["lastError"] = context.log.scrub(entry["lastError"].get<std::string>());
      }
      list.push_back(std::move(entry));
    }
    return http::Response::json(200, {{"integrations", std::move(list)},
                                      {"sync", context.sync},
                                      {"syncNow", accepts_sync_now(context)}});
  });

  router.post(
      "/v1/integrations/{provider}/sync",
      [&context](const http::Request& req) {
        // A replica makes the run due in the shared store, which the lease holder reads.
        if (!accepts_sync_now(context)) {
          return http::Response::error(409,
                                       "this server does not run the sync (start it with --sync)");
        }
        const std::string provider(*req.param("provider"));
        auto triggered = context.tailnet.sync_now(provider);
        if (!triggered) return error_response(triggered.error(), context.log);
        // When the last run ended under the spacing ago, the run starts later: say when (null:
        // after the run in flight, which has not ended yet).
        const auto& starts_at = triggered.value().starts_at;
        return http::Response::json(
            202, {{"triggered", provider},
                  {"startsAt", starts_at ? nlohmann::json(sync::format_rfc3339(*starts_at))
                                         : nlohmann::json(nullptr)}});
      },
      http::RouteOptions{{}, true});

  // Nothing is changed; the tests run against the served tailnet.
  router.post(
      "/v1/validate",
      [&context](const http::Request& req) {
        const auto start = req.body.find_first_not_of(" \t\r\n");
        if (start == std::string::npos) {
          return http::Response::error(400, "send the policy file (HuJSON) as the body");
        }
        if (req.body[start] == '[') {
          return http::Response::error(
              400, "a bare list of tests is not supported here; send a whole policy");
        }
        return http::Response::json(
            200, verdict_json(context.tailnet.validate_policy(req.body, "policy.hujson")));
      },
      http::RouteOptions{http::kJsonOrHujson, true});
}

}  // namespace postern::server
