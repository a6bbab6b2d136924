#pragma once
// A throwaway PostgreSQL 15 cluster for one test binary: initdb into a temporary directory, a
// server on a Unix socket inside it (no TCP port, so parallel test binaries never collide),
// removed with everything in it on destruction. Run as the `postgres` user when we are root,
// since initdb and postgres refuse to run as root. No test depends on a database that was
// already running.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scratch.hpp"

namespace postern::test {

class PostgresCluster {
 public:
  // Why a cluster cannot be started here (the PostgreSQL 15 server binaries are missing, or no
  // `postgres` user when root); nullopt when it can.
  static std::optional<std::string> unavailable();
  // Starts a fresh cluster; throws std::runtime_error with initdb's or pg_ctl's output on failure.
  PostgresCluster();
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // postgresql:// URL of database `name` (created by create_database, or "postgres").
  [[nodiscard]] std::string url(const std::string& name = "postgres") const;
  // A new empty database: each test case gets its own.
  std::string create_database();
  // Fault injection: stop the server (fast shutdown: sessions are disconnected) and start it
  // again on the same socket and data.
  void stop();
  void start();
  [[nodiscard]] bool running() const { return running_; }

 private:
  std::string run(const std::vector<std::string>& argv, bool must_succeed = true) const;
  std::vector<std::string> as_postgres(std::vector<std::string> argv) const;

  ScratchDir dir_{"postern-pg"};
  std::string data_;
  std::string socket_dir_;
  bool running_ = false;
  int databases_ = 0;
};

}  // namespace postern::test
