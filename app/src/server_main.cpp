// `postern serve`: the tailnet (control layer) behind the HTTP server, a timer for expiries and
// file polls, the optional in-process sync, and the signals.
#include "server_main.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "command_registry.hpp"
#include "listen_address.hpp"
#include "postern/grammar/loopback.hpp"
#include "postern/http/server.hpp"
#include "serve_auth.hpp"
#include "serve_console.hpp"
#include "serve_metrics.hpp"
#include "serve_routes.hpp"

namespace postern::server {
namespace {

// Every connection is a descriptor: lift the soft limit to the hard one, and warn when even that
// is below the connection limit (connections past it would be refused at accept).
void raise_descriptor_limit(std::size_t max_connections, Log& log) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr std::size_t kSpare = 64;  // the store, the sync's sockets, the log, ...
  if (limit.rlim_cur < max_connections + kSpare) {
    log.warn(
        fmt::format("the descriptor limit ({}) is below --max-connections ({}) plus {} spare: "
                    "raise it (ulimit -n) or lower --max-connections",
                    limit.rlim_cur, max_connections, kSpare));
  }
}

int fail(const std::string& message) {
  std::cerr << "postern serve: " << message << "\n";
  return app::kExitUsage;
}

// Expiries every second; file polls every `reload_interval` seconds. Wakes early for stop().
class Ticker {
 public:
  Ticker(control::Tailnet& tailnet, int reload_interval)
      : tailnet_(tailnet), interval_(reload_interval) {}
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
      tailnet_.advance_time();
      tailnet_.follow_store();
      if (interval_ > 0 && ++elapsed >= interval_) {
        elapsed = 0;
        tailnet_.reload_files(false);
      }
      lock.lock();
    }
  }

  control::Tailnet& tailnet_;
  int interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// A token file others may read (or write) hands full access to them: said at start, as ssh
// does for keys, but not refused (a secret store may mount it group-readable on purpose).
void warn_if_shared(const std::string& path, Log& log) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || (info.st_mode & 077) == 0) return;
  log.warn(fmt::format(
      "the API token file `{}` can be read or written by others (mode {:04o}): anyone who can "
      "read it has full access; chmod 600 it",
      path, info.st_mode & 07777));
}

}  // namespace

int run_server(const ServeOptions& options) {
  const auto listen = app::parse_listen(options.listen);
  if (!listen) {
    return fail(fmt::format(
        "error[C703]: `--listen` must be HOST:PORT (e.g. 127.0.0.1:8080, [::1]:0), got `{}`",
        options.listen));
  }
  std::optional<std::string> token;
  if (!options.api_token_file.empty()) {
    token = app::read_secret_line(options.api_token_file);
    if (!token) {
      return fail(
          fmt::format("error[C773]: cannot read an API token from `{}`", options.api_token_file));
    }
  }
  // Beyond loopback credentials cross the network: only over TLS.
  if (!grammar::ip::is_loopback_host(listen->host) && options.serving.tls_cert.empty()) {
    return fail(
        fmt::format("error[C771]: refusing to serve plain HTTP on non-loopback address `{}`: "
                    "credentials would cross the network in clear; give --tls-cert and "
                    "--tls-key",
                    listen->host));
  }

  // Signals go to one waiting thread: block them before any thread starts, so every thread
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log log(std::cerr, options.log_level);
  if (token) {
    log.add_secret(*token);
    warn_if_shared(options.api_token_file, log);
  }

  control::TailnetOptions tailnet_options;
  tailnet_options.tailnet_path = options.tailnet;
  if (!options.policy.empty()) tailnet_options.policy_path = options.policy;
  if (!options.db.empty()) {
    tailnet_options.db = options.db;
  } else if (options.sync) {
    tailnet_options.db = std::string(control::kDefaultDbPath);  // where `integrations` keeps them
  }
  tailnet_options.sole_server = true;
  tailnet_options.sync_interval = std::chrono::seconds(options.sync_interval);
  tailnet_options.sync_now_spacing = std::chrono::seconds(options.sync_now_spacing);
  tailnet_options.replica_retry = std::chrono::milliseconds(options.replica_retry_ms);
  tailnet_options.log = [&log](control::LogLevel level, const std::string& line) {
    switch (level) {
      case control::LogLevel::debug:
        return log.debug(line);
      case control::LogLevel::info:
        return log.info(line);
      case control::LogLevel::error:
        return log.error(line);
    }
  };
  auto opened = control::Tailnet::open(std::move(tailnet_options));
  if (!opened) {
    std::cerr << fmt::format("error[{}]: {}\n", grammar::code_name(opened.error().code),
                             grammar::printable(opened.error().message, true));
    return fail("error[C772]: not started: the policy, the inventory or the store cannot be used");
  }
  auto& tailnet = *opened.value();
  if (tailnet.policy().is_default) {
    log.warn(
        "no policy file and none stored: serving Tailscale's default policy, which lets every "
        "device reach every other on every port; give --policy FILE or save one through the API");
  }

  ApiContext context{tailnet, log, options.sync};
  Metrics metrics(tailnet, context.checks_answered);
  http::Router router;
  install_admin_routes(router, context);
  install_query_routes(router, context);
  install_device_routes(router, context);
  install_oauth_routes(router, context);
  install_metrics_route(router, metrics, true);
  install_tailscale_routes(router, context);

  http::ServerOptions server_options;
  server_options.listen = {
      http::ListenEndpoint{listen->host, static_cast<std::uint16_t>(listen->port)}};
  server_options.threads = static_cast<unsigned>(options.threads);
  if (auto bad = apply_serving_flags(options.serving, server_options)) {
    return fail(fmt::format("error[C703]: {}", *bad));
  }
  context.max_batch_queries = options.serving.max_batch_queries;
  context.max_body_memory = server_options.limits.max_body_memory;
  // Requests without a credential are the local operator's only on a loopback listener without
  // --api-token-file; anywhere else every request needs a token or an API key.
  const bool open_loopback = !token && grammar::ip::is_loopback_host(listen->host);
  server_options.authenticator = make_authenticator(AuthConfig{&tailnet, token, open_loopback});
  install_console(router, context, server_options);  // after the authenticator: wraps it
  server_options.access_log = [&log, &metrics,
                               detailed = options.access_log](const http::AccessRecord& r) {
    metrics.record_request(r);
    if (detailed) {
      // The matched route, not the path: a client may put a secret where an id goes (a token
      // pasted as a device name). Who asked, from where.
      log.info(fmt::format("{} {} {} {} us from {} as {}", r.method,
                           r.route.empty() ? "(no route)" : r.route, r.status, r.duration.count(),
                           r.peer_address.empty() ? "-" : r.peer_address,
                           r.actor.empty() ? "-" : r.actor));
    }
  };
  raise_descriptor_limit(server_options.limits.max_connections, log);
  // The scheduler runs before the first request can ask for a sync: in between, "sync now"
  // ran the sync on the HTTP thread, beside the scheduler's first run (a TSan review).
  if (options.sync) {
    tailnet.start_syncing([&log, &metrics](const control::SyncRun& run) {
      metrics.record_sync(run);
      const auto& r = run.report;
      if (!r.ok) {
        log.error(fmt::format("sync {}: {}", run.integration.provider,
                              r.error ? r.error->message : "failed"));
        return;
      }
      log.info(fmt::format("sync {}: {} devices, {} matched, {} changed, {} page(s) in {} ms",
                           run.integration.provider, r.provider_devices, r.matched, r.changed_nodes,
                           r.pages, r.duration.count()));
    });
  }
  // A return before the end (a listener that cannot bind) stops the sync while the log and
  // the metrics its reports go to still exist.
  struct SyncStopper {
    control::Tailnet& tailnet;
    ~SyncStopper() { tailnet.stop_syncing(); }
  } const sync_stopper{tailnet};
  auto started = http::Server::start(std::move(router), std::move(server_options));
  if (!started.server) return fail(fmt::format("error[C770]: {}", started.error));
  const auto& bound = started.server->endpoints().front();
  const bool v6 = bound.host.find(':') != std::string::npos;
  const std::string where = v6 ? fmt::format("[{}]:{}", bound.host, bound.port)
                               : fmt::format("{}:{}", bound.host, bound.port);
  // Every listener is bound before the first line, which scripts take as "started".
  std::unique_ptr<http::Server> metrics_server;
  if (!options.metrics_listen.empty()) {
    auto metrics_started = start_metrics_listener(options.metrics_listen, metrics);
    if (!metrics_started.server) return fail(fmt::format("error[C770]: {}", metrics_started.error));
    metrics_server = std::move(metrics_started.server);
  }
  // The first stdout line: scripts and tests read the port from it.
  std::cout << "listening on " << where << std::endl;
  if (metrics_server) {
    const auto& m = metrics_server->endpoints().front();
    // The second stdout line, for scripts that asked for port 0.
    std::cout << "metrics on "
              << (m.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", m.host, m.port)
                                                        : fmt::format("{}:{}", m.host, m.port))
              << std::endl;
  }
  log.info(fmt::format("serving policy version {} ({} devices) on {}://{} with {} HTTP threads{}{}",
                       tailnet.policy().version, tailnet.snapshot()->device_count(),
                       options.serving.tls_cert.empty() ? "http" : "https", where,
                       started.server->worker_threads(), token ? ", bearer auth" : "",
                       options.sync ? ", sync on" : ""));

  Ticker ticker(tailnet, options.reload_interval);
  ticker.start();

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log.info("SIGHUP: reloading");
      tailnet.reload_files(true);
      continue;
    }
    log.info(fmt::format("shutting down ({})", sig == SIGINT ? "SIGINT" : "SIGTERM"));
    break;
  }
  started.server->stop(std::chrono::seconds(10));
  if (metrics_server) metrics_server->stop(std::chrono::seconds(1));
  ticker.stop();
  tailnet.stop_syncing();
  log.info("stopped");
  return app::kExitOk;
}

}  // namespace postern::server
