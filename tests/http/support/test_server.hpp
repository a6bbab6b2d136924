#pragma once
// A postern_http Server on 127.0.0.1:0 inside the test process, with short timeouts and a small
// route table that exercises every feature of the layer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "postern/http/server.hpp"

namespace postern::test {

inline constexpr std::string_view kGoodToken = "good-token";        // authenticates as "key:good"
inline constexpr std::string_view kLimitedToken = "limited-token";  // valid but refused with 403

// Timeouts of a few hundred milliseconds, two threads, the test authenticator.
[[nodiscard]] http::ServerOptions test_options();

// GET  /v1/health                     no auth: {"ok": true}
// POST /v1/echo                       auth: {"bytes": body size, "actor": actor}
// POST /v1/json                       no auth: the parsed body, or 400 with parse_json_body's error
// GET  /api/v2/device/{id}/attributes/{key}   no auth: {"id", "key", "q": query "q" or null}
// POST /api/v2/tailnet/{tailnet}/acl  no auth, JSON or HuJSON: {"tailnet"}
// GET  /v1/stream?lines=N             no auth: N lines "line K\n", streamed in chunks
// GET  /v1/helpers                    no auth: {"helpers": Request::helpers' count, "elsewhere":
//                                     whether a task posted to them ran on another thread}
// GET  /v1/throw                      no auth: the handler throws
[[nodiscard]] http::Router test_router();

// The access records the server reported, copied (their views die with the exchange).
struct LoggedExchange {
  std::string method;
  std::string route;
  int status = 0;
  std::uint64_t request_body_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::string actor;
};

class AccessLog {
 public:
  void record(const http::AccessRecord& record);
  [[nodiscard]] std::vector<LoggedExchange> entries() const;
  // Blocks until exactly `count` exchanges are logged (woken by each record) or `bound` passes.
  bool wait_for_entries(std::size_t count, std::chrono::milliseconds bound) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable recorded_;
  std::vector<LoggedExchange> entries_;
};

class TestServer {
 public:
  explicit TestServer(http::ServerOptions options = test_options(),
                      http::Router router = test_router());
  [[nodiscard]] std::uint16_t port() const { return server_->endpoints().front().port; }
  [[nodiscard]] http::Server& server() { return *server_; }
  [[nodiscard]] const AccessLog& log() const { return *log_; }

 private:
  std::shared_ptr<AccessLog> log_ = std::make_shared<AccessLog>();
  std::unique_ptr<http::Server> server_;
};

}  // namespace postern::test
