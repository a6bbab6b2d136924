#pragma once
// `postern serve`: wires the live state, the HTTP API, the expiry and reload timer, the optional
// in-process sync and the signals together, and runs until SIGINT or SIGTERM.

#include <cstddef>
#include <optional>
#include <string>

#include "serve_flags.hpp"

namespace postern::server {

struct ServeOptions {
  std::string policy;
  std::string tailnet;
  std::string db;  // empty: no store (API-set attributes live in memory only)
  std::string listen = "127.0.0.1:8080";
  std::string api_token_file;
  bool sync = false;
  int sync_interval = 900;  // seconds between scheduled syncs
  int sync_now_spacing = 30;  // seconds after a sync ends before "sync now" starts another
  int reload_interval = 5;  // seconds between file polls; 0 = SIGHUP only
  std::size_t threads = 0;  // HTTP worker threads; 0: one per core the process may run on
  bool access_log = false;
  std::string log_level = "info";  // debug | info | warn | error
  std::string metrics_listen;      // loopback HOST:PORT serving /metrics without credentials
  ServingFlags serving;            // limits, --host, --cors-origin, TLS, batch size
  int replica_retry_ms = 5000;     // postgresql:// store: sync lease and reconnect retry
};

// Exit status: 0 after a graceful shutdown, 2 when the server cannot start.
int run_server(const ServeOptions& options);

}  // namespace postern::server
