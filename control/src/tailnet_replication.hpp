#pragma once
// Replicas on a shared store: the change-log follower that keeps this replica's evaluator in step
// with every other replica's writes, and the sync lease that lets exactly one replica run the
// integrations' schedule.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "postern/control/tailnet.hpp"
#include "postern/store/replication.hpp"

namespace postern::control {

class Replicator {
 public:
  Replicator(Tailnet::Impl& impl, std::string url, std::chrono::milliseconds retry);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // LISTEN, then note the change log's position. Call before loading the state: a change
  // committed after this point is both announced and in the log, so nothing falls in between.
  Outcome<std::monostate> subscribe();
  // Apply every change after the last applied one, in order (writer held). False when the
  // store cannot be read; the follower retries after reconnecting.
  bool catch_up_locked();
  // The follower thread: waits for notices and catches up; reconnects after a loss.
  void start_following();
  // The lease thread: tries for the sync lease every `retry`; while held, the schedule runs
  // here; when the lease is lost (connection gone), the schedule stops at once.
  void start_lease();
  void stop_lease();
  void stop();
  [[nodiscard]] bool holds_lease() const;

 private:
  void follow();
  void keep_lease();
  void apply(const store::Change& change);
  // Waits `retry` or until stop; false when stopping.
  bool pause(std::unique_lock<std::mutex>& lock);

  Tailnet::Impl& impl_;
  std::string url_;
  std::chrono::milliseconds retry_;
  std::unique_ptr<store::ChangeListener> listener_;
  std::unique_ptr<store::SyncLease> lease_;
  std::int64_t applied_ = 0;  // writer held

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool lease_stopping_ = false;
  bool holding_ = false;
  std::thread follower_;
  std::thread lease_thread_;
};

}  // namespace postern::control
