// GET /v1/health, GET /v1/integrations, POST /v1/integrations/{provider}/sync, POST /v1/validate.
#include <filesystem>
#include <string>

#include "integration_json.hpp"
#include "policy_loading.hpp"
#include "postern/sync/clock.hpp"
#include "postern/sync/store.hpp"
#include "server_http.hpp"
#include "server_sync.hpp"

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

}  // namespace

void install_admin_routes(httplib::Server& server, ApiContext& context) {
  server.Get("/v1/health", [&context](const httplib::Request&, httplib::Response& res) {
    const auto view = context.state.view();
    const auto age =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - view->published).count();
    send_json(res, 200,
              {{"status", "ok"},
               {"policyVersion", view->policy_version},
               {"policyLoadedAt", sync::format_rfc3339(view->policy_loaded_at)},
               {"devices", view->snapshot->device_count()},
               {"snapshotAge", static_cast<double>(static_cast<std::int64_t>(age * 1000)) / 1000},
               {"sync", context.sync != nullptr}});
  });

  server.Get("/v1/integrations", [&context](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    auto* store = context.state.store();
    if (store != nullptr) {
      auto integrations = store->list_integrations();
      if (!integrations) {
        return send_error(res, 503, "store_unavailable",
                          context.log.scrub(integrations.error().message));
      }
      const auto& db = *context.state.paths().db;
      for (const auto& i : integrations.value()) {
        std::error_code ec;
        // Only whether a token exists: its value is never read here.
        const bool has_token = std::filesystem::exists(sync::token_path(db, i.provider), ec);
        auto status = store->load_status(i.id);
        auto entry = app::integration_json(i, status ? status.value() : sync::SyncStatus{},
                                           has_token, unix_now());
        // The stored error is redacted already; scrubbing again also hides this server's secrets.
        if (entry["lastError"].is_string()) {
          entry["lastError"] = context.log.scrub(entry["lastError"].get<std::string>());
        }
        list.push_back(std::move(entry));
      }
    }
    send_json(res, 200, {{"integrations", std::move(list)}, {"sync", context.sync != nullptr}});
  });

  server.Post(R"(/v1/integrations/([^/]+)/sync)",
              [&context](const httplib::Request& req, httplib::Response& res) {
                const std::string provider = req.matches[1];
                if (context.sync == nullptr) {
                  return send_error(res, 409, "sync_disabled",
                                    "this server does not run the sync (start it with --sync)");
                }
                if (!context.sync->trigger(provider)) {
                  return send_error(res, 404, "unknown_integration",
                                    "no `" + provider + "` integration is configured");
                }
                send_json(res, 202, {{"triggered", provider}});
              });

  // Tailscale's /acl/validate for a policy: {} when valid and its tests pass, else
  // {"message", "data"}. Nothing is changed; the tests run against the served tailnet.
  server.Post("/v1/validate", [&context](const httplib::Request& req, httplib::Response& res) {
    if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      return send_error(res, 400, "bad_request", "send the policy file (HuJSON) as the body");
    }
    const auto first = req.body[req.body.find_first_not_of(" \t\r\n")];
    if (first == '[') {
      return send_error(res, 400, "bad_request",
                        "a bare list of tests is not supported; send a whole policy");
    }
    const auto view = context.state.view();
    const auto& inventory = view->snapshot->inventory();
    auto policy =
        app::load_policy_text("policy.hujson", req.body, app::validate_context(inventory));
    if (!policy.ok()) {
      nlohmann::json errors = nlohmann::json::array();
      std::string message;
      for (const auto& d : policy.diags) {
        if (d.severity != grammar::Severity::Error) continue;
        auto j = app::diagnostic_json(policy.file, d);
        if (message.empty()) {
          message = "line " + j.value("line", nlohmann::json(0)).dump() + ", column " +
                    j.value("column", nlohmann::json(0)).dump() + ": " + d.message;
        }
        errors.push_back(std::move(j));
      }
      return send_json(res, 200, {{"message", message}, {"data", std::move(errors)}});
    }
    const auto tests = engine::run_policy_tests(policy.file, *policy.ast, &inventory,
                                                engine::CompileOptions{unix_now()});
    if (!tests.passed) {
      return send_json(res, 200,
                       {{"message", "test(s) failed"}, {"data", test_failures_json(tests)}});
    }
    send_json(res, 200, nlohmann::json::object());
  });
}

}  // namespace postern::server
