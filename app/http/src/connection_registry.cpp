#include "connection_registry.hpp"

#include <vector>

namespace postern::http::detail {

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : registry_(other.registry_), peer_(std::move(other.peer_)), id_(other.id_) {
  other.registry_ = nullptr;
}

ConnectionSlot::~ConnectionSlot() {
  if (registry_ != nullptr) registry_->release(peer_, id_);
}

void ConnectionSlot::track(std::weak_ptr<Stoppable> connection) const {
  if (registry_ != nullptr) registry_->track(id_, std::move(connection));
}

ConnectionRegistry::Admission ConnectionRegistry::admit(const std::string& peer,
                                                        std::size_t max_total,
                                                        std::size_t max_per_client) {
  const std::lock_guard lock(mutex_);
  if (open_ >= max_total) return Admission{Refusal::ServerFull, {}};
  auto& from_client = per_client_[peer];
  if (from_client >= max_per_client) {
    if (from_client == 0) per_client_.erase(peer);
    return Admission{Refusal::ClientFull, {}};
  }
  ++from_client;
  ++open_;
  changed_.notify_all();
  return Admission{Refusal::None, ConnectionSlot(this, peer, next_id_++)};
}

std::size_t ConnectionRegistry::open() const {
  const std::lock_guard lock(mutex_);
  return open_;
}

void ConnectionRegistry::track(std::uint64_t id, std::weak_ptr<Stoppable> connection) {
  const std::lock_guard lock(mutex_);
  connections_.emplace(id, std::move(connection));
}

void ConnectionRegistry::release(const std::string& peer, std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  connections_.erase(id);
  const auto client = per_client_.find(peer);
  if (client != per_client_.end() && --client->second == 0) per_client_.erase(client);
  --open_;
  changed_.notify_all();
}

void ConnectionRegistry::stop_all() {
  std::vector<std::shared_ptr<Stoppable>> alive;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [id, connection] : connections_) {
      if (auto locked = connection.lock()) alive.push_back(std::move(locked));
    }
  }
  // Outside the lock: a connection released meanwhile only gets a stop it no longer needs. Each
  // reference is handed over, not copied: none may be released on this thread.
  for (auto& connection : alive) {
    Stoppable& target = *connection;
    target.on_server_stop(std::move(connection));
  }
}

bool ConnectionRegistry::wait_until_open(std::size_t count,
                                         std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [&] { return open_ == count; });
}

}  // namespace postern::http::detail
