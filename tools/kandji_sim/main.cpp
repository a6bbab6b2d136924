// postern-kandji-sim: a Kandji-compatible test server for the sync's loopback tests, the demo and
// the benchmark. See docs/decisions.md#sim for what it serves and why.

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "listen_address.hpp"
#include "postern/grammar/loopback.hpp"
#include "simulator.hpp"

namespace {

using postern::kandji_sim::FieldSetMode;
using postern::kandji_sim::PageStyle;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

constexpr const char* kFooter = R"(
Serves GET /api/v1/prism/device_information (and /api/v1/prism/count) in Kandji's shape:
{"offset", "limit", "total", "data", "cursor"}; `limit` defaults to 25 and is clamped to 300
and to --page-size; `Authorization: Bearer TOKEN` is required (401 missing or wrong, 403 for a
token lacking the permission); rate-limit headers on every response. Also GET /api/v1/devices
(a bare array, `limit` <= 300, `offset`, `serial_number` substring filter, x-total-count).

Admin API (no auth, loopback clients only):
  POST   /_sim/faults           arm faults: a JSON object or array of objects
  GET    /_sim/faults           list armed faults      DELETE /_sim/faults     disarm all
  GET    /_sim/devices          all device rows
  POST   /_sim/devices/SERIAL   patch the device's fields (JSON object), or create it
  DELETE /_sim/devices/SERIAL   remove it
  GET    /_sim/requests         the request log (never holds a token)   DELETE clears it
  POST   /_sim/token            {"token": T, "has_permission": B, "forbidden_tokens": [..]}
  POST   /_sim/reset            initial devices and token; no faults, empty log, fresh counters

Fault objects: {"kind": K, "on_request": N, "page": P, "times": T (default 1, -1 forever), ...}
  status                {"status": 429, "retry_after": 2, "ratelimit_reset": 1, "html": true,
                         "body": "..."}
  slow                  {"delay_ms": 5000}
  truncated             body cut mid-JSON; {"drop_connection": true} closes mid-body instead
  malformed             a body that is not JSON
  cursor_wrong_type     `cursor` as a number
  missing_data          envelope without `data`
  revoke_token_on_page  {"page": 2}: the token gets 401 from that page on
  duplicate_rows        {"count": 1}: the page repeats the previous page's last rows
  padded                {"bytes": 100000000}: the page followed by spaces up to that size
Any fault may add {"headers": {"Name": "value"}} to its response.)";

using postern::app::parse_listen;

int fail(const std::string& message) {
  std::cerr << "postern-kandji-sim: error: " << message << '\n';
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"postern-kandji-sim: a Kandji-compatible test server (Prism device_information)"};
  app.footer(kFooter);

  std::string listen = "127.0.0.1:0";
  std::string devices_file;
  std::string token;
  std::string token_file;
  std::vector<std::string> forbidden;
  std::string page_style = "cursor";
  std::size_t page_size = postern::kandji_sim::kMaxLimit;
  std::string field_set = "auto";
  std::uint64_t generate = 0;
  std::uint64_t seed = 1;
  std::string request_log;
  postern::kandji_sim::RateLimits rate;
  bool allow_remote = false;

  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  auto* devices_opt =
      app.add_option("--devices", devices_file,
                     "fixture: a JSON array of Kandji rows, or {\"devices\": [...]}")
          ->check(CLI::ExistingFile);
  auto* token_opt = app.add_option("--token", token, "the API token the server accepts");
  auto* token_file_opt =
      app.add_option("--token-file", token_file, "read the accepted token from this file")
          ->check(CLI::ExistingFile);
  token_opt->excludes(token_file_opt);
  app.add_option("--forbidden-token", forbidden,
                 "a known token lacking the Prism permission (answered with 403); repeatable");
  app.add_option("--page-style", page_style,
                 "cursor: a `cursor` string while rows remain; offset: `cursor` always null")
      ->check(CLI::IsMember({"cursor", "offset"}))
      ->capture_default_str();
  app.add_option("--page-size", page_size,
                 "largest page the server returns; a smaller `limit` parameter wins")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  app.add_option("--field-set", field_set,
                 "row shape: auto (per device), current (43 keys) or legacy (model_identifier, "
                 "os_name)")
      ->check(CLI::IsMember({"auto", "current", "legacy"}))
      ->capture_default_str();
  auto* generate_opt = app.add_option(
      "--generate", generate,
      "ignore --devices and synthesise N devices (serials C02SIM000001, C02SIM000002, ...)");
  app.add_option("--seed", seed, "seed for --generate")->capture_default_str();
  app.add_option("--request-log", request_log,
                 "append the request log to FILE (JSON lines; - for stdout)");
  app.add_option("--rate-limit-second", rate.per_second, "advertised requests per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate-limit-hour", rate.per_hour, "advertised requests per hour")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--enforce-rate-limits", rate.enforce,
               "answer 429 once a rate limit is used up (off: headers only)");
  app.add_flag("--allow-remote", allow_remote, "allow listening on a non-loopback address");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const auto address = parse_listen(listen);
  if (!address) return fail("`--listen` must be HOST:PORT, e.g. 127.0.0.1:0, got `" + listen + "`");
  if (!allow_remote && !postern::grammar::ip::is_loopback_host(address->host)) {
    return fail("refusing to listen on non-loopback address `" + address->host +
                "` (pass --allow-remote to override)");
  }
  if (*token_file_opt) {
    auto read = postern::app::read_secret_line(token_file);
    if (!read) return fail("cannot read a token from `" + token_file + "`");
    token = *read;
  }
  if (token.empty()) return fail("an accepted token is required: pass --token or --token-file");

  postern::kandji_sim::SimConfig config;
  config.token = token;
  config.forbidden_tokens = forbidden;
  config.style = page_style == "offset" ? PageStyle::Offset : PageStyle::Cursor;
  config.page_size = page_size;
  config.field_mode = field_set == "current"  ? FieldSetMode::Current
                      : field_set == "legacy" ? FieldSetMode::Legacy
                                              : FieldSetMode::Auto;
  config.rate = rate;
  if (!request_log.empty()) config.request_log_path = request_log;
  try {
    if (*generate_opt) {
      config.initial_rows =
          postern::kandji_sim::generate_devices(generate, seed, config.field_mode);
    } else if (*devices_opt) {
      config.initial_rows = postern::kandji_sim::load_fixture(devices_file, config.field_mode);
    } else {
      return fail("pass --devices FILE or --generate N");
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  // Signals go to one waiting thread (blocked everywhere else, so httplib's workers inherit the
  // mask), which stops the server outside signal-handler context.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::optional<postern::kandji_sim::Simulator> sim;
  try {
    sim.emplace(std::move(config));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  httplib::Server server;
  server.set_keep_alive_max_count(1000);  // a 34-page walk reuses one connection
  sim->register_routes(server);

  const int port = address->port == 0
                       ? server.bind_to_any_port(address->host)
                       : (server.bind_to_port(address->host, address->port) ? address->port : -1);
  if (port < 0) return fail("cannot listen on `" + listen + "`");
  const bool v6 = address->host.find(':') != std::string::npos;
  std::cout << "listening on " << (v6 ? "[" + address->host + "]" : address->host) << ':' << port
            << std::endl;

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    sim->shutdown();
    server.stop();
  });
  const bool ok = server.listen_after_bind();
  // If the server ended on its own, wake the waiter so it can be joined.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return ok ? kExitOk : kExitUsage;
}
