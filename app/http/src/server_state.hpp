#pragma once
// Server::State: everything the connections share. Member order matters: the io_context is
// destroyed before what its pending connections still use (registry, router, options, TLS
// context) and after the acceptors that use it.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "connection_registry.hpp"
#include "postern/http/server.hpp"
#include "request_guard.hpp"

namespace postern::http {

struct Server::State {
  State(Router routes, ServerOptions server_options, const std::vector<std::string>& host_names)
      : router(std::move(routes)), options(std::move(server_options)), hosts(host_names) {}

  Router router;
  ServerOptions options;
  detail::HostRule hosts;
  detail::ConnectionRegistry registry;
  std::optional<boost::asio::ssl::context> tls;
  std::vector<ListenEndpoint> endpoints;
  std::atomic<bool> stopping{false};
  std::mutex stop_mutex;
  bool stopped = false;
  std::vector<std::thread> threads;

  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
};

}  // namespace postern::http
