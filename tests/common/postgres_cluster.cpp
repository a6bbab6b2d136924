// initdb + pg_ctl from Debian's postgresql-15, run through the one process launcher.
#include "postgres_cluster.hpp"

#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "process.hpp"

namespace postern::test {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

bool is_root() { return ::geteuid() == 0; }

}  // namespace

std::optional<std::string> PostgresCluster::unavailable() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (::access((kBin + tool).c_str(), X_OK) != 0) {
      return "PostgreSQL 15 is not installed (" + kBin + tool +
             " is missing); run scripts/install-deps";
    }
  }
  if (is_root() && ::getpwnam("postgres") == nullptr) {
    return "running as root but there is no `postgres` user to run the server as";
  }
  return std::nullopt;
}

std::vector<std::string> PostgresCluster::as_postgres(std::vector<std::string> argv) const {
  if (!is_root()) return argv;
  argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  return argv;
}

std::string PostgresCluster::run(const std::vector<std::string>& argv, bool must_succeed) const {
  auto result = run_process(as_postgres(argv), {"LC_ALL=C"}, 120s);
  if (must_succeed && result.exit_code != 0) {
    throw std::runtime_error(argv.front() + " failed: " + result.out + result.err);
  }
  return result.out;
}

PostgresCluster::PostgresCluster() {
  if (auto why = unavailable()) throw std::runtime_error(*why);
  data_ = (dir_.path() / "data").string();
  socket_dir_ = dir_.path().string();
  if (is_root()) {
    const passwd* pw = ::getpwnam("postgres");
    if (::chown(socket_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("cannot hand " + socket_dir_ + " to the postgres user");
    }
  }
  run({kBin + "initdb", "-D", data_, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
       "--no-instructions"});
  start();
}

PostgresCluster::~PostgresCluster() {
  if (!running_) return;
  run({kBin + "pg_ctl", "-D", data_, "-m", "immediate", "-w", "stop"}, false);
  // Never leave a server behind: if pg_ctl could not stop it, SIGQUIT (immediate shutdown) the
  // postmaster named in its pid file.
  std::ifstream pid_file(data_ + "/postmaster.pid");
  pid_t pid = 0;
  if (pid_file >> pid && pid > 0 && ::kill(pid, 0) == 0) ::kill(pid, SIGQUIT);
}

void PostgresCluster::start() {
  // No TCP listener; fsync off: this cluster lives for one test run.
  run({kBin + "pg_ctl", "-D", data_, "-w", "-t", "60", "-l", (dir_.path() / "server.log").string(),
       "-o",
       "-c listen_addresses='' -c unix_socket_directories=" + socket_dir_ +
           " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
       "start"});
  running_ = true;
}

void PostgresCluster::stop() {
  run({kBin + "pg_ctl", "-D", data_, "-m", "fast", "-w", "stop"});
  running_ = false;
}

std::string PostgresCluster::url(const std::string& name) const {
  return "postgresql:///" + name + "?host=" + socket_dir_ + "&user=postgres";
}

std::string PostgresCluster::create_database() {
  const std::string name = "t" + std::to_string(++databases_);
  run({kBin + "psql", "-X", "-q", "-h", socket_dir_, "-U", "postgres", "-d", "postgres", "-c",
       "CREATE DATABASE " + name});
  return name;
}

}  // namespace postern::test
