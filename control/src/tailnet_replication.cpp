// Following the shared store's change log, and the sync lease.
#include "tailnet_replication.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

using nlohmann::json;

constexpr std::size_t kBatch = 500;
constexpr auto kNoticeWait = std::chrono::milliseconds(1000);

std::vector<sync::AttributeWrite> writes_from(const json& payload) {
  std::vector<sync::AttributeWrite> writes;
  const auto it = payload.find("writes");
  if (it == payload.end() || !it->is_array()) return writes;
  for (const auto& w : *it) {
    sync::AttributeWrite write;
    write.device = w.value("d", std::string());
    write.key = w.value("k", std::string());
    write.source = w.value("s", std::string());
    if (const auto v = w.find("v"); v != w.end() && v->is_string()) {
      write.value = store::attr_from_json(v->get<std::string>());
      if (!write.value) continue;  // not a value we write: skip rather than delete
    }
    if (const auto e = w.find("e"); e != w.end() && e->is_number_integer()) {
      write.expires_at = e->get<std::int64_t>();
    }
    writes.push_back(std::move(write));
  }
  return writes;
}

}  // namespace

Replicator::Replicator(Tailnet::Impl& impl, std::string url, std::chrono::milliseconds retry)
    : impl_(impl),
      url_(std::move(url)),
      retry_(retry),
      listener_(store::make_change_listener(url_)),
      lease_(store::make_sync_lease(url_)) {}

Replicator::~Replicator() { stop(); }

Outcome<std::monostate> Replicator::subscribe() {
  if (auto listening = listener_->listen(); !listening) return from_sync(listening.error());
  auto position = impl_.store().change_position();
  if (!position) return from_sync(position.error());
  applied_ = position.value();
  return std::monostate{};
}

bool Replicator::catch_up_locked() {
  for (;;) {
    auto batch = impl_.store().changes_after(applied_, kBatch);
    if (!batch) return false;
    for (const auto& change : batch.value()) {
      apply(change);
      applied_ = change.id;
      // After the change is live: tests (and operators at --log-level debug) wait on this line.
      impl_.log(LogLevel::debug, fmt::format("followed change {} ({})", change.id, change.kind));
    }
    if (batch.value().size() < kBatch) return true;
  }
}

void Replicator::apply(const store::Change& change) {
  const json payload = json::parse(change.payload, nullptr, false);
  if (!payload.is_object()) {
    impl_.log(LogLevel::error, fmt::format("change {} is not JSON; skipped", change.id));
    return;
  }
  if (change.kind == "attributes") {
    impl_.apply_writes(writes_from(payload));
  } else if (change.kind == "policy") {
    const auto version = payload.value("id", std::int64_t{0});
    if (version <= impl_.policy.version) return;  // already serving it, or a newer one
    impl_.install_stored_policy(version, payload.value("text", std::string()));
  } else if (change.kind == "credential") {
    impl_.credentials.forget(payload.value("id", std::string()));
  }
  // "integration": nothing lives in the evaluator; the lease holder's schedule re-reads the
  // store every second and sees the new next_run.
}

void Replicator::start_following() {
  follower_ = std::thread([this] { follow(); });
}

bool Replicator::pause(std::unique_lock<std::mutex>& lock) {
  wake_.wait_for(lock, retry_, [this] { return stopping_; });
  return !stopping_;
}

void Replicator::follow() {
  bool connected = true;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!connected) {
      if (!pause(lock)) break;
      lock.unlock();
      connected = listener_->listen().ok();
      if (connected) {
        std::lock_guard writer(impl_.writer);
        connected = catch_up_locked();
        if (connected)
          impl_.log(LogLevel::info, "reconnected to the database; caught up with changes");
      }
      lock.lock();
      continue;
    }
    lock.unlock();
    auto notices = listener_->wait(kNoticeWait);
    if (!notices) {
      impl_.log(LogLevel::error,
                fmt::format("lost the database ({}); serving from memory, retrying",
                            notices.error().message));
      connected = false;
    } else if (!notices.value().empty()) {
      std::lock_guard writer(impl_.writer);
      if (notices.value().back().id > applied_ && !catch_up_locked()) connected = false;
    }
    lock.lock();
  }
}

void Replicator::start_lease() {
  std::lock_guard lock(mu_);
  if (lease_thread_.joinable()) return;
  lease_stopping_ = false;
  lease_thread_ = std::thread([this] { keep_lease(); });
}

void Replicator::keep_lease() {
  std::unique_lock lock(mu_);
  while (!stopping_ && !lease_stopping_) {
    lock.unlock();
    if (!holding_) {
      auto acquired = lease_->try_acquire();
      if (acquired && acquired.value()) {
        impl_.log(LogLevel::info, "this replica holds the sync lease: the integrations sync here");
        impl_.start_scheduler();
        lock.lock();
        holding_ = true;
        lock.unlock();
      }
    } else if (!lease_->still_held()) {
      impl_.log(LogLevel::error,
                "lost the sync lease (database connection gone); syncing stops here");
      impl_.stop_scheduler();
      lock.lock();
      holding_ = false;
      lock.unlock();
    }
    lock.lock();
    wake_.wait_for(lock, retry_, [this] { return stopping_ || lease_stopping_; });
  }
  const bool held = holding_;
  holding_ = false;
  lock.unlock();
  if (held) {
    impl_.stop_scheduler();
    lease_->release();
  }
}

bool Replicator::holds_lease() const {
  std::lock_guard lock(mu_);
  return holding_;
}

void Replicator::stop_lease() {
  {
    std::lock_guard lock(mu_);
    lease_stopping_ = true;
  }
  wake_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
}

void Replicator::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  listener_->wake();
  if (follower_.joinable()) follower_.join();
  if (lease_thread_.joinable()) lease_thread_.join();
}

}  // namespace postern::control
