#pragma once
// Postern's own HTTP routes (/v1): each parses its input, calls one control operation and
// formats the answer. Every error is {"message", "code"} with the status of its kind.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "postern/control/tailnet.hpp"
#include "postern/http/router.hpp"
#include "server_log.hpp"

namespace postern::server {

inline constexpr std::size_t kMaxBatchQueries = 100'000;

struct ApiContext {
  control::Tailnet& tailnet;
  Log& log;
  bool sync = false;  // the scheduler runs in this process
  std::size_t max_batch_queries = kMaxBatchQueries;
  std::uint64_t max_body_memory = 0;  // the server's Limits::max_body_memory, for messages
  std::atomic<std::uint64_t> checks_answered{0};  // /v1/check and batch queries, for /metrics
};

// The control layer's error as an HTTP answer.
http::Response error_response(const control::Error& error, Log& log);
// The actor of an API change: the credential that authenticated it, else the local admin.
control::Actor api_actor(const http::Request& request);

// Completes `pending` once an edit of `device` is done: with `render` of the device's attributes
// then (read on the connection's thread, not the committing one), or with `fail` of the edit's
// error. Postern's routes and Tailscale's API differ only in those two renderings.
using RenderAttributes = std::function<http::Response(const control::DeviceAttributesView&)>;
using RenderError = std::function<http::Response(const control::Error&)>;
std::function<void(const control::Done&)> answer_after_edit(
    std::shared_ptr<http::PendingResponse> pending, ApiContext& context, std::string device,
    RenderAttributes render, RenderError fail);

void install_query_routes(http::Router& router, ApiContext& context);
void install_device_routes(http::Router& router, ApiContext& context);
void install_admin_routes(http::Router& router, ApiContext& context);
// Tailscale's API v2 (app/src/tsapi_*.cpp, spec tailscale-api.md).
void install_tailscale_routes(http::Router& router, ApiContext& context);

}  // namespace postern::server
