#pragma once
// `postern serve --sync`: the posture integrations' scheduler runs in the server process. After
// every successful sync that changed attributes, the changes (read back from the store) are
// applied to the live engine, so the next check reflects them without a recompile.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>
#include <thread>

#include "postern/sync/clock.hpp"
#include "postern/sync/http_transport.hpp"
#include "postern/sync/scheduler.hpp"
#include "postern/sync/sync_engine.hpp"
#include "server_log.hpp"
#include "server_state.hpp"

namespace postern::server {

class SyncRunner {
 public:
  // `state` must have a store (--db). Does not start anything yet.
  SyncRunner(LiveState& state, Log& log, std::chrono::seconds interval);
  ~SyncRunner();
  SyncRunner(const SyncRunner&) = delete;
  SyncRunner& operator=(const SyncRunner&) = delete;

  void start();  // the scheduler loop on its own thread; due integrations sync at once
  void stop();   // waits for running syncs to finish

  // Sync `provider`'s integration as soon as possible. False when it has none.
  bool trigger(std::string_view provider);

 private:
  void on_report(const sync::Integration& integration, const sync::SyncReport& report);

  LiveState& state_;
  Log& log_;
  sync::SystemClock clock_;
  std::unique_ptr<sync::HttpTransport> transport_;
  std::unique_ptr<sync::SyncEngine> engine_;
  std::unique_ptr<sync::Scheduler> scheduler_;
  std::thread thread_;
};

}  // namespace postern::server
