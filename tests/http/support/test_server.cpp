#include "test_server.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <future>
#include <stdexcept>
#include <thread>

namespace postern::test {

using http::Request;
using http::Response;

http::ServerOptions test_options() {
  http::ServerOptions options;
  options.threads = 2;
  options.limits.header_timeout = std::chrono::milliseconds(300);
  options.limits.body_timeout = std::chrono::milliseconds(300);
  options.limits.idle_timeout = std::chrono::milliseconds(1000);
  options.limits.write_timeout = std::chrono::milliseconds(1000);
  options.authenticator = [](const std::optional<http::Credential>& credential,
                             const Request&) -> http::AuthOutcome {
    if (!credential) return http::AuthDenial{401, "a credential is required"};
    if (credential->token == kGoodToken) return http::Principal{"key:good", {"all"}};
    if (credential->token == kLimitedToken) return http::AuthDenial{403, "missing scope `all`"};
    return http::AuthDenial{401, "unknown credential"};
  };
  return options;
}

http::Router test_router() {
  http::Router router;
  const http::RouteOptions open{http::kJsonOnly, false};
  router.get(
      "/v1/health",
      [](const Request&) {
        return Response::json(200, {{"ok", true}});
      },
      open);
  router.post("/v1/echo", [](const Request& request) {
    return Response::json(200,
                          {{"bytes", request.body.size()}, {"actor", request.principal->actor}});
  });
  router.post(
      "/v1/json",
      [](const Request& request) {
        auto parsed = request.json();
        if (!parsed.ok()) return Response::error(400, parsed.error);
        return Response::json(200, *parsed.value);
      },
      open);
  router.get(
      "/api/v2/device/{id}/attributes/{key}",
      [](const Request& request) {
        nlohmann::json q = nullptr;
        if (auto value = request.query.get("q")) q = std::string(*value);
        return Response::json(
            200, {{"id", *request.param("id")}, {"key", *request.param("key")}, {"q", q}});
      },
      open);
  router.post(
      "/api/v2/tailnet/{tailnet}/acl",
      [](const Request& request) {
        return Response::json(200, {{"tailnet", *request.param("tailnet")}});
      },
      http::RouteOptions{http::kJsonOrHujson, false});
  router.get(
      "/v1/stream",
      [](const Request& request) {
        const auto lines = std::stoul(std::string(request.query.get("lines").value_or("0")));
        auto next = std::make_shared<std::size_t>(0);
        return Response::streamed(200, "text/plain", [lines, next](std::string& out) {
          if (*next == lines) return false;
          out.clear();
          for (int i = 0; i < 100 && *next < lines; ++i) out += fmt::format("line {}\n", (*next)++);
          return true;
        });
      },
      open);
  router.get(
      "/v1/helpers",
      [](const Request& request) {
        if (request.helpers == nullptr) return Response::json(200, {{"helpers", 0}});
        // Runs a task on a helper and waits for it (a test may; a real handler never waits for
        // a task that has not begun).
        std::promise<bool> ran;
        auto result = ran.get_future();
        const auto here = std::this_thread::get_id();
        request.helpers->post([&ran, here] { ran.set_value(std::this_thread::get_id() != here); });
        return Response::json(200,
                              {{"helpers", request.helpers->count()}, {"elsewhere", result.get()}});
      },
      open);
  router.get(
      "/v1/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); }, open);
  return router;
}

void AccessLog::record(const http::AccessRecord& record) {
  const std::lock_guard lock(mutex_);
  entries_.push_back(LoggedExchange{std::string(record.method), std::string(record.route),
                                    record.status, record.request_body_bytes, record.response_bytes,
                                    std::string(record.actor)});
  recorded_.notify_all();
}

bool AccessLog::wait_for_entries(std::size_t count, std::chrono::milliseconds bound) const {
  std::unique_lock lock(mutex_);
  return recorded_.wait_for(lock, bound, [&] { return entries_.size() == count; });
}

std::vector<LoggedExchange> AccessLog::entries() const {
  const std::lock_guard lock(mutex_);
  return entries_;
}

TestServer::TestServer(http::ServerOptions options, http::Router router) {
  options.access_log = [log = log_](const http::AccessRecord& record) { log->record(record); };
  auto started = http::Server::start(std::move(router), std::move(options));
  INFO(started.error);
  REQUIRE(started.server);
  server_ = std::move(started.server);
}

}  // namespace postern::test
