// `postern sync [--once]`: run posture syncs, once or on the schedule until SIGINT/SIGTERM.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "command_registry.hpp"
#include "postern/sync/http_transport.hpp"
#include "postern/sync/scheduler.hpp"
#include "sync_cli.hpp"

namespace postern::app {
namespace {

struct Options {
  std::string db = std::string(sync::kDefaultDbPath);
  std::string tailnet;
  bool once = false;
  double interval_s = 900;
  double jitter_s = 30;
};

std::mutex g_output;

void print_report(const sync::Integration& integration, const sync::SyncReport& report,
                  bool terminal) {
  std::lock_guard<std::mutex> lock(g_output);
  if (terminal) std::cerr << "\r\033[K" << std::flush;  // clear the progress line
  if (!report.ok) {
    print_sync_error("sync", *report.error);
    return;
  }
  std::cout << integration.provider << ": synced " << report.provider_devices << " devices in "
            << report.pages << " page(s), matched " << report.matched << " of "
            << report.possible_matched << " possible, " << report.changed_nodes
            << " node(s) changed";
  if (!report.ambiguous_serials.empty()) {
    std::cout << ", " << report.ambiguous_serials.size() << " ambiguous serial(s)";
  }
  if (report.removals_held > 0) {
    std::cout << ", removal of " << report.removals_held << " node(s) held back for confirmation";
  }
  std::cout << " (" << report.duration.count() << " ms)\n" << std::flush;
}

int run_sync(const Options& o) {
  auto store = open_store("sync", o.db);
  if (!store) return kExitUsage;
  if (auto first = load_tailnet_nodes(o.tailnet); !first) {
    print_sync_error("sync", "C702", first.error().message);
    return kExitUsage;
  }
  auto integrations = store->list_integrations();
  if (!integrations) {
    print_sync_error("sync", integrations.error());
    return kExitUsage;
  }
  if (integrations.value().empty()) {
    print_sync_error("sync", "C740", "no posture integrations to sync",
                     "add one with `postern integrations add kandji --url URL --token-file FILE`");
    return kExitFailed;
  }
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto transport = sync::make_curl_transport();
  sync::SystemClock clock;
  sync::SyncEngine engine(*store, *transport, clock, sync::file_token_reader(o.db));
  bool failed = false;
  sync::SchedulerOptions options;
  options.interval = sync::Millis{static_cast<std::int64_t>(o.interval_s * 1000)};
  options.jitter = sync::Millis{static_cast<std::int64_t>(o.jitter_s * 1000)};
  // The tailnet file is re-read before every sync so edits are picked up.
  sync::Scheduler scheduler(
      *store, engine, clock, [&] { return load_tailnet_nodes(o.tailnet); }, options,
      [&](const sync::Integration& integration, const sync::SyncReport& report) {
        failed = failed || !report.ok;
        print_report(integration, report, terminal);
      });
  if (o.once) {
    const auto now = unix_now();
    for (const auto& integration : integrations.value()) {
      auto status = store->load_status(integration.id);
      if (status && status.value().paused_until && *status.value().paused_until > now) {
        print_sync_error("sync", "Y608",
                         integration.provider + " is paused until " +
                             when(status.value().paused_until) + " after an authentication failure",
                         "fix the token with `postern integrations update " + integration.provider +
                             " --token-file FILE`");
        failed = true;
      }
    }
    // --once runs through the engine directly to show progress on a terminal.
    auto nodes = load_tailnet_nodes(o.tailnet);
    for (const auto& integration : integrations.value()) {
      auto status = store->load_status(integration.id);
      if (status && status.value().paused_until && *status.value().paused_until > now) continue;
      auto report = engine.sync(integration, nodes.value(), [&](const sync::SyncProgress& p) {
        if (!terminal) return;
        std::lock_guard<std::mutex> lock(g_output);
        std::cerr << "\r\033[K" << integration.provider << ": page " << p.pages << ", " << p.devices
                  << " devices";
        if (p.matched) std::cerr << ", matched " << *p.matched;
        std::cerr << std::flush;
      });
      schedule_next(*store, integration.id, static_cast<std::int64_t>(o.interval_s));
      failed = failed || !report.ok;
      print_report(integration, report, terminal);
    }
    return failed ? kExitFailed : kExitOk;
  }

  // Signals are taken by one thread with sigwait, so no handler runs inside a sync.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    {
      std::lock_guard<std::mutex> lock(g_output);
      std::cerr << "\npostern sync: stopping after the current sync\n";
    }
    scheduler.stop();
  });
  {
    std::lock_guard<std::mutex> lock(g_output);
    std::cerr << "postern sync: running every " << o.interval_s << " s (+/- " << o.jitter_s
              << " s); Ctrl-C stops\n";
  }
  scheduler.run();
  waiter.join();
  return kExitOk;
}

const CommandRegistration kRegistration{
    61, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<Options>();
      auto* cmd = root.add_subcommand(
          "sync",
          "Sync device posture from every configured integration into the attribute store:\n"
          "fetch all devices, match them to the tailnet's nodes by serial number and write\n"
          "the kandji:* attributes that changed, with one audit event per changed node.\n"
          "A failed or partial fetch writes nothing. Without --once, runs on the schedule\n"
          "(every 15 min with jitter, at once after `integrations add/update`) until\n"
          "SIGINT or SIGTERM. Exit status: 0 ok, 1 a sync failed or is paused, 2 usage error.");
      cmd->add_flag("--once", o->once, "Sync every integration now, then exit");
      cmd->add_option("--tailnet", o->tailnet, "Tailnet inventory whose nodes are matched")
          ->required()
          ->type_name("FILE");
      cmd->add_option("--db", o->db, "Attribute store (SQLite; default postern.db)")
          ->type_name("FILE");
      cmd->add_option("--interval", o->interval_s, "Seconds between syncs (default 900)")
          ->check(CLI::PositiveNumber);
      cmd->add_option("--jitter", o->jitter_s, "Random +/- seconds per interval (default 30)")
          ->check(CLI::NonNegativeNumber);
      cmd->footer(
          "Examples:\n"
          "  postern sync --once --tailnet samples/tailnet.json --db postern.db\n"
          "  postern sync --tailnet samples/tailnet.json   # runs until Ctrl-C");
      cmd->callback([o, &exit_code] { exit_code = run_sync(*o); });
    }};

}  // namespace
}  // namespace postern::app
