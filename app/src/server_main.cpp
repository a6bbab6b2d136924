#include "server_main.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "command_registry.hpp"
#include "listen_address.hpp"
#include "postern/grammar/ip.hpp"
#include "postern/sync/store.hpp"
#include "server_http.hpp"
#include "server_log.hpp"
#include "server_state.hpp"
#include "server_sync.hpp"

namespace postern::server {
namespace {

int fail(const std::string& message) {
  std::cerr << "postern serve: " << message << "\n";
  return app::kExitUsage;
}

// Expiries every second; file polls (and, with a store, changes written by other processes)
// every `reload_interval` seconds. Wakes early for stop().
class Ticker {
 public:
  Ticker(LiveState& state, int reload_interval) : state_(state), interval_(reload_interval) {}
  ~Ticker() { stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    int elapsed = 0;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      state_.advance_time();
      if (interval_ > 0 && ++elapsed >= interval_) {
        elapsed = 0;
        state_.reload(false);
        state_.refresh_from_store();
      }
      lock.lock();
    }
  }

  LiveState& state_;
  int interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  const auto address = grammar::ip::parse_address(host);
  if (!address) return false;
  if (!address->v6) return address->bytes[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (address->bytes[i] != 0) return false;
  }
  return address->bytes[15] == 1;
}

int run_server(const ServeOptions& options) {
  const auto listen = app::parse_listen(options.listen);
  if (!listen) {
    return fail("error[C703]: `--listen` must be HOST:PORT (e.g. 127.0.0.1:8080, [::1]:0), got `" +
                options.listen + "`");
  }
  std::optional<std::string> token;
  if (!options.api_token_file.empty()) {
    token = app::read_secret_line(options.api_token_file);
    if (!token) {
      return fail("error[C773]: cannot read an API token from `" + options.api_token_file + "`");
    }
  }
  if (!is_loopback(listen->host) && !token) {
    return fail("error[C771]: refusing to listen on non-loopback address `" + listen->host +
                "` without --api-token-file (anyone who can reach it could write attributes)");
  }

  // Signals go to one waiting thread: block them before any thread starts, so every thread
  // (httplib's workers, the ticker, the sync) inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log log(std::cerr);
  if (token) log.add_secret(*token);

  ServerPaths paths{options.policy, options.tailnet, std::nullopt};
  if (!options.db.empty()) {
    paths.db = options.db;
  } else if (options.sync) {
    paths.db = std::string(sync::kDefaultDbPath);  // where `postern integrations` keeps them
  }
  std::string errors;
  auto state = LiveState::open(paths, log, errors);
  if (!state) {
    std::cerr << errors;
    return fail("error[C772]: not started: the policy, the inventory or the store cannot be used");
  }

  std::unique_ptr<SyncRunner> sync;
  if (options.sync)
    sync = std::make_unique<SyncRunner>(*state, log, std::chrono::seconds(options.sync_interval));

  ApiContext context{*state, log, sync.get(), token, options.access_log};
  httplib::Server server;
  const std::size_t threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Small JSON answers must not wait for Nagle + delayed ACK (tens of ms per keep-alive call).
  server.set_tcp_nodelay(true);
  install_api(server, context);
  int port = listen->port;
  if (port == 0) {
    port = server.bind_to_any_port(listen->host);
  } else if (!server.bind_to_port(listen->host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return fail("error[C770]: cannot listen on `" + options.listen + "`");
  }
  const bool v6 = listen->host.find(':') != std::string::npos;
  const std::string where =
      (v6 ? "[" + listen->host + "]" : listen->host) + ":" + std::to_string(port);
  // The first stdout line: scripts and tests read the port from it.
  std::cout << "listening on " << where << std::endl;
  {
    const auto view = state->view();
    log.info("serving `" + options.policy + "` (policy version " +
             std::to_string(view->policy_version) + ", " +
             std::to_string(view->snapshot->device_count()) + " devices) on http://" + where +
             (token ? " with bearer auth" : "") + (sync ? ", sync on" : "") +
             (paths.db ? ", store `" + paths.db->string() + "`" : ""));
  }

  std::atomic<bool> stopping{false};
  std::thread http([&] {
    server.listen_after_bind();
    // The listener died on its own: wake the signal wait so the process shuts down.
    if (!stopping.load()) kill(getpid(), SIGTERM);
  });
  Ticker ticker(*state, options.reload_interval);
  ticker.start();
  if (sync) sync->start();

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log.info("SIGHUP: reloading");
      state->reload(true);
      state->refresh_from_store();
      continue;
    }
    log.info(std::string("shutting down (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
    break;
  }
  stopping.store(true);
  server.stop();
  http.join();
  ticker.stop();
  if (sync) sync->stop();
  log.info("stopped");
  return app::kExitOk;
}

}  // namespace postern::server
