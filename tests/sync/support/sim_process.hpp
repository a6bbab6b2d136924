#pragma once
// Kept only until tests/app/sync_cli_test.cpp and live_data_test.cpp include process.hpp and
// kandji_sim.hpp (tests/common) themselves: the old names over the one launcher, and spawn() for
// sync_cli_test's kill-timing test.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "kandji_sim.hpp"
#include "process.hpp"

namespace postern::test {

inline std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// Start `args` with stdout and stderr redirected to files; returns the pid.
inline pid_t spawn(std::vector<std::string> args, const std::filesystem::path& out,
                   const std::filesystem::path& err, const std::vector<std::string>& env = {}) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::FILE* o = std::freopen(out.c_str(), "w", stdout);
    std::FILE* e = std::freopen(err.c_str(), "w", stderr);
    if (o == nullptr || e == nullptr) ::_exit(127);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));  // NOLINT: child only
    auto argv = argv_of(args);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// tests/app/live_data_test.cpp and sync_cli_test.cpp pass a scratch directory, which the
// launcher no longer needs.
inline ProcessResult run_process(std::vector<std::string> args, const std::filesystem::path&,
                                 const std::vector<std::string>& env = {},
                                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
  return run_process(std::move(args), env, timeout);
}

}  // namespace postern::test
