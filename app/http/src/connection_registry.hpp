#pragma once
// Counts open connections (in total and per client address) and keeps a weak reference to each,
// so a stopping server can reach them. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::http::detail {

// What a connection must do when the server stops.
class Stoppable {
 public:
  Stoppable() = default;
  Stoppable(const Stoppable&) = delete;
  Stoppable& operator=(const Stoppable&) = delete;
  Stoppable(Stoppable&&) = delete;
  Stoppable& operator=(Stoppable&&) = delete;
  virtual ~Stoppable() = default;
  // Asks the connection to finish. `self` is the caller's only reference and moves to the
  // connection's own thread: a connection's last reference must never be dropped elsewhere (a
  // plain session's destructor updates its worker's deadline list, which only its thread touches).
  virtual void on_server_stop(std::shared_ptr<Stoppable> self) = 0;
};

class ConnectionRegistry;

// One admitted connection; releases its place on destruction.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionRegistry* registry, std::string peer, std::uint64_t id)
      : registry_(registry), peer_(std::move(peer)), id_(id) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot();

  void track(std::weak_ptr<Stoppable> connection) const;
  [[nodiscard]] bool admitted() const { return registry_ != nullptr; }

 private:
  ConnectionRegistry* registry_ = nullptr;
  std::string peer_;
  std::uint64_t id_ = 0;
};

class ConnectionRegistry {
 public:
  enum class Refusal { None, ServerFull, ClientFull };
  struct Admission {
    Refusal refusal = Refusal::None;
    ConnectionSlot slot;  // admitted() when refusal is None
  };

  [[nodiscard]] Admission admit(const std::string& peer, std::size_t max_total,
                                std::size_t max_per_client);
  [[nodiscard]] std::size_t open() const;
  // Calls on_server_stop on every connection still alive.
  void stop_all();
  // Waits until exactly `count` connections are open or `deadline` passes; true when they are.
  bool wait_until_open(std::size_t count, std::chrono::steady_clock::time_point deadline);

 private:
  friend class ConnectionSlot;
  void track(std::uint64_t id, std::weak_ptr<Stoppable> connection);
  void release(const std::string& peer, std::uint64_t id);

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // open_ changed
  std::size_t open_ = 0;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::string, std::size_t> per_client_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Stoppable>> connections_;
};

}  // namespace postern::http::detail
