// `postern sync [--once]`: run posture syncs, once or on the schedule until SIGINT/SIGTERM.
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>

#include "cli_support.hpp"
#include "command_registry.hpp"

namespace postern::app {
namespace {

struct SyncOptions {
  std::string db = std::string(control::kDefaultDbPath);
  std::string tailnet;
  bool once = false;
  double interval_s = 900;
  double jitter_s = 30;
};

std::mutex g_output;

void print_run(const control::SyncRun& run) {
  std::lock_guard<std::mutex> lock(g_output);
  const auto& report = run.report;
  if (!report.ok) {
    print_error("sync", control::from_sync(*report.error));
    return;
  }
  std::string line = fmt::format(
      "{}: synced {} devices in {} page(s), matched {} of {} possible, {} node(s) changed",
      run.integration.provider, report.provider_devices, report.pages, report.matched,
      report.possible_matched, report.changed_nodes);
  if (!report.ambiguous_serials.empty()) {
    line += fmt::format(", {} ambiguous serial(s)", report.ambiguous_serials.size());
  }
  if (report.removals_held > 0) {
    line += fmt::format(", removal of {} node(s) held back for confirmation", report.removals_held);
  }
  std::cout << fmt::format("{} ({} ms)\n", line, report.duration.count()) << std::flush;
}

// Paused integrations are not synced by --once; say so (exit 1), as for a failed sync.
bool report_paused(const control::Tailnet& tailnet) {
  auto all = tailnet.integrations();
  if (!all) return false;
  bool any = false;
  for (const auto& v : all.value()) {
    if (v.state != "paused") continue;
    any = true;
    print_error("sync",
                control::Error{control::ErrorKind::Unavailable, grammar::DiagCode::Y608,
                               fmt::format("{} is paused until {} after an authentication failure",
                                           v.integration.provider, when(v.status.paused_until)),
                               fmt::format("fix the token with `postern integrations update {} "
                                           "--token-file FILE`",
                                           v.integration.provider)});
  }
  return any;
}

int run_sync(const SyncOptions& o) {
  control::TailnetOptions options;
  options.db = o.db;
  options.tailnet_path = o.tailnet;
  options.sync_interval = std::chrono::seconds{static_cast<std::int64_t>(o.interval_s)};
  options.sync_jitter = std::chrono::seconds{static_cast<std::int64_t>(o.jitter_s)};
  options.log = [](control::LogLevel level, const std::string& line) {
    if (level == control::LogLevel::debug) return;
    std::lock_guard<std::mutex> lock(g_output);
    std::cerr << fmt::format("postern sync: {}{}\n",
                             level == control::LogLevel::error ? "error: " : "", line);
  };
  auto tailnet = open_tailnet("sync", std::move(options));
  if (!tailnet) return kExitUsage;
  auto integrations = tailnet->integrations();
  if (!integrations) {
    print_error("sync", integrations.error());
    return kExitUsage;
  }
  if (integrations.value().empty()) {
    print_error("sync",
                control::not_found(grammar::DiagCode::C740, "no posture integrations to sync",
                                   "add one with `postern integrations add kandji --url "
                                   "URL --token-file FILE`"));
    return kExitFailed;
  }
  if (o.once) {
    bool failed = report_paused(*tailnet);
    auto runs = tailnet->sync_all_now();
    if (!runs) {
      print_error("sync", runs.error());
      return kExitFailed;
    }
    for (const auto& run : runs.value()) {
      failed = failed || !run.report.ok;
      print_run(run);
    }
    return failed ? kExitFailed : kExitOk;
  }

  // Signals are taken by one thread with sigwait, so no handler runs inside a sync.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  {
    std::lock_guard<std::mutex> lock(g_output);
    std::cerr << fmt::format("postern sync: running every {} s; Ctrl-C stops\n", o.interval_s);
  }
  tailnet->start_syncing(print_run);
  int received = 0;
  sigwait(&signals, &received);
  {
    std::lock_guard<std::mutex> lock(g_output);
    std::cerr << "\npostern sync: stopping (a sync in flight is abandoned; it commits nothing)\n";
  }
  tailnet->stop_syncing();
  return kExitOk;
}

const CommandRegistration kSyncCommand{
    61, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<SyncOptions>();
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
      cmd->add_option("--db", o->db, kDbHelp)->type_name("FILE");
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
