#pragma once
// An event-driven HTTP/1.1 server: one io_context per thread (a Worker), each connection a small
// state machine (no thread per connection), limits from Limits, optional TLS, browser-safety rules
// on every route, and a graceful stop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "postern/http/credentials.hpp"
#include "postern/http/limits.hpp"
#include "postern/http/message.hpp"
#include "postern/http/router.hpp"

namespace postern::http {

struct ListenEndpoint {
  std::string host = "127.0.0.1";  // an IP literal (IPv6 without brackets) or "localhost"
  std::uint16_t port = 0;          // 0: any free port (see Server::endpoints)
};

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct AuthDenial {
  int status = 401;  // 401: no or wrong credential; 403: valid but not allowed
  std::string message;
};
using AuthOutcome = std::variant<Principal, AuthDenial>;
// Called on a connection's thread, after the headers and before the body is read (so
// Request::body is empty). `credential` is nullopt when there is no Authorization header; a
// malformed one is refused with 401 before the Authenticator is asked.
using Authenticator =
    std::function<AuthOutcome(const std::optional<Credential>& credential, const Request& request)>;

// One completed exchange, for access logs and metrics. Holds nothing secret: no header values,
// no bodies, no query string.
struct AccessRecord {
  std::string_view method;  // as sent (truncated when long)
  std::string_view route;   // the matched pattern; empty when no route matched
  int status = 0;
  std::chrono::microseconds duration{0};  // first header byte to last response byte
  std::uint64_t request_body_bytes = 0;
  std::uint64_t response_bytes = 0;  // body bytes written
  std::string_view peer_address;
  std::string_view actor;  // Principal::actor when authenticated
};
using AccessLogger = std::function<void(const AccessRecord&)>;

struct ServerOptions {
  std::vector<ListenEndpoint> listen{ListenEndpoint{}};
  unsigned threads = 0;  // 0: one per core
  std::optional<TlsFiles> tls;
  Limits limits;
  // Host header names (without port) accepted besides localhost, 127.0.0.0/8, ::1 and the listen
  // addresses themselves (`--host NAME`). Anything else gets 421: this stops DNS rebinding.
  std::vector<std::string> allowed_hosts;
  // Origins (e.g. "https://console.example.com") that may call the API from a browser. Empty:
  // no CORS headers at all, and state-changing requests from any other origin get 403.
  std::vector<std::string> cors_origins;
  Authenticator authenticator;  // unset: routes that require auth answer 401
  AccessLogger access_log;      // called on a connection's thread; keep it cheap
};

class Server;

struct StartResult {
  std::unique_ptr<Server> server;  // set on success
  std::string error;               // otherwise why not, e.g. "cannot listen on 127.0.0.1:80: ..."
};

class Server {
 public:
  // Binds every endpoint (backlog SOMAXCONN), loads the TLS files, and starts the threads.
  [[nodiscard]] static StartResult start(Router router, ServerOptions options);

  ~Server();  // stop(0) unless already stopped
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  Server(Server&&) = delete;
  Server& operator=(Server&&) = delete;

  // The bound endpoints, with the ports the system chose for port 0.
  [[nodiscard]] const std::vector<ListenEndpoint>& endpoints() const;
  [[nodiscard]] bool uses_tls() const;
  [[nodiscard]] std::size_t worker_threads() const;
  // Connections open now (for tests and metrics).
  [[nodiscard]] std::size_t open_connections() const;
  // Blocks until exactly `count` connections are open (woken by each connection opening or
  // closing, not by polling) or `bound` passes; true when they are.
  bool wait_for_open_connections(std::size_t count, std::chrono::milliseconds bound) const;
  // Bytes of request bodies counted against Limits::max_body_memory now (for tests and metrics).
  [[nodiscard]] std::uint64_t body_bytes_held() const;

  // Stops accepting, closes idle connections, lets requests in flight finish (answered with
  // `Connection: close`) and closes what is still open at `deadline`. Then joins the threads.
  // Idempotent; call it from any thread but the server's own.
  void stop(std::chrono::milliseconds deadline);

  struct State;  // the implementation, shared with the connections

 private:
  explicit Server(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace postern::http
