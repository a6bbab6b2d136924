#pragma once
// When syncs run (spec kandji.md §3.2): every `interval` plus jitter after the last one finished,
// immediately after a create or configuration change (the store sets next_run to now), never
// while paused, at most one in flight per integration, and a trigger during a run coalesces into
// one rerun when it finishes. The schedule lives in the store's status (next_run, paused_until),
// so a `postern integrations update` in another process is seen by a running `postern sync`.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "postern/sync/sync_engine.hpp"

namespace postern::sync {

struct SchedulerOptions {
  Millis interval{15 * 60 * 1000};
  Millis jitter{30 * 1000};  // next run = finish + interval + uniform(-jitter, +jitter)
  Millis poll{1000};         // how often the loop re-reads the store for external changes
  // A trigger during a run plans one more run this long after it ends (0: at once), so requests
  // that keep arriving during runs do not chain runs back to back.
  Millis rerun_spacing{0};
  std::uint64_t seed = 0;  // 0: seeded from the clock
};

// The run a stored status plans, as a schedule of `interval` (and `jitter`) reads it: the stored
// slot, unless another schedule planned it with a longer interval (`postern sync --interval 60`
// after serve's 15 minutes): then `interval` after the last attempt. A pause is not looked at.
[[nodiscard]] std::optional<std::int64_t> planned_run(const SyncStatus& status, Millis interval,
                                                      Millis jitter);

class Scheduler {
 public:
  using NodeSource = std::function<Result<std::vector<TailnetNode>>()>;
  using ReportSink = std::function<void(const Integration&, const SyncReport&)>;
  using StartSink = std::function<void(const Integration&)>;

  Scheduler(SyncLedger& ledger, SyncEngine& engine, Clock& clock, NodeSource nodes,
            SchedulerOptions options = {}, ReportSink on_report = {}, StartSink on_start = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Thread-safe: sync `integration_id` as soon as possible; during a run, once more after it
  // (rerun_spacing after it ends). A trigger is used up by the next look at the schedule: one for
  // an integration that is paused, removed or unreadable then is dropped.
  void trigger(std::int64_t integration_id);
  // Run, in the calling thread, every integration that is due now (or triggered). Returns the
  // number of syncs run (coalesced reruns included).
  int run_pending();
  // Run every integration that is not paused, now, regardless of schedule (`postern sync --once`).
  int run_all_now();
  // Whether a sync of `integration_id` is in flight (thread-safe).
  [[nodiscard]] bool running(std::int64_t integration_id);
  // Loop until stop(): due integrations sync on their own worker threads.
  void run();
  void stop();

 private:
  struct State {
    bool running = false;
    bool rerun = false;
    bool forced = false;
  };
  bool start_run(std::int64_t id);  // false when already running (rerun recorded)
  [[nodiscard]] bool stopping();
  void run_to_completion(const Integration& integration);
  std::set<std::int64_t> take_triggers();  // the triggered integrations; clears the triggers
  std::vector<Integration> due_integrations(bool ignore_schedule);
  TimePoint next_after(TimePoint finished);

  SyncLedger& ledger_;
  SyncEngine& engine_;
  Clock& clock_;
  NodeSource nodes_;
  SchedulerOptions options_;
  ReportSink on_report_;
  StartSink on_start_;  // as each run (reruns included) begins
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::int64_t, State> states_;
  std::map<std::int64_t, std::thread> workers_;
  std::mt19937_64 rng_;
  bool stopping_ = false;
};

}  // namespace postern::sync
