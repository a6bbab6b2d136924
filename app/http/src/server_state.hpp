#pragma once
// Server::State: everything the connections share. Member order matters: the workers (and their
// io_contexts) are destroyed before what their pending connections still use (registry, router,
// options, TLS context) and after the acceptors that use them.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "body_budget.hpp"
#include "connection_registry.hpp"
#include "postern/http/server.hpp"
#include "request_guard.hpp"
#include "worker.hpp"

namespace postern::http {

// Shared (enable_shared_from_this) so that an answer completed on another thread after the server
// is gone can still reach, and release, its connection (PendingResponse).
struct Server::State : std::enable_shared_from_this<Server::State> {
  State(Router routes, ServerOptions server_options, const std::vector<std::string>& host_names)
      : router(std::move(routes)),
        options(std::move(server_options)),
        hosts(host_names),
        body_budget(options.limits.max_body_memory) {}

  Router router;
  ServerOptions options;
  detail::HostRule hosts;
  detail::ConnectionRegistry registry;
  detail::BodyBudget body_budget;
  std::optional<boost::asio::ssl::context> tls;
  std::vector<ListenEndpoint> endpoints;
  std::atomic<bool> stopping{false};
  std::mutex stop_mutex;
  bool stopped = false;

  // One per thread; the acceptors run on the first and hand connections out in turn.
  std::vector<std::unique_ptr<detail::Worker>> workers;
  std::size_t next_worker = 0;  // only touched by the acceptors' worker
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
};

}  // namespace postern::http
