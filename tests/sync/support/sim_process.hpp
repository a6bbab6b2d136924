#pragma once
// Header-only helpers for tests that run real processes: the Kandji simulator on loopback (its
// admin API driven with cpp-httplib) and the `postern` CLI with captured output.

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "scratch.hpp"

namespace postern::test {

inline std::string binary(const std::string& relative) {
  return std::string(POSTERN_BINARY_DIR) + "/" + relative;
}

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

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Run to completion (timeout: killed, exit_code -1).
inline ProcessResult run_process(std::vector<std::string> args, const std::filesystem::path& dir,
                                 const std::vector<std::string>& env = {},
                                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
  static int counter = 0;
  const auto out = dir / ("out-" + std::to_string(counter) + ".txt");
  const auto err = dir / ("err-" + std::to_string(counter++) + ".txt");
  const pid_t pid = spawn(std::move(args), out, err, env);
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + timeout;
  ProcessResult result;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.out = slurp(out);
      result.err = slurp(err);
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

// postern-kandji-sim on 127.0.0.1:0; stopped (SIGTERM, then reaped) on destruction.
class Simulator {
 public:
  Simulator(const std::filesystem::path& dir, std::vector<std::string> extra,
            const std::string& token) {
    const auto token_file = dir / "sim-token.txt";
    std::ofstream(token_file) << token;
    std::vector<std::string> args = {binary("app/postern-kandji-sim"), "--listen", "127.0.0.1:0",
                                     "--token-file", token_file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    out_ = dir / "sim-out.txt";
    pid_ = spawn(args, out_, dir / "sim-err.txt");
    for (int i = 0; i < 3000 && port_ == 0; ++i) {
      const std::string text = slurp(out_);
      const auto colon = text.rfind(':', text.find('\n'));
      if (text.find('\n') != std::string::npos && colon != std::string::npos) {
        port_ = std::stoi(text.substr(colon + 1));
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("simulator exited: " + slurp(dir / "sim-err.txt"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (port_ == 0) throw std::runtime_error("simulator did not report its port");
  }
  ~Simulator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Admin calls; return the response body, throw on a non-2xx status.
  std::string post(const std::string& path, const std::string& body) {
    return check(client().Post(path.c_str(), body, "application/json"), path);
  }
  std::string get(const std::string& path) { return check(client().Get(path.c_str()), path); }
  std::string del(const std::string& path) { return check(client().Delete(path.c_str()), path); }

 private:
  httplib::Client client() const { return httplib::Client("127.0.0.1", port_); }
  static std::string check(const httplib::Result& r, const std::string& path) {
    if (!r || r->status / 100 != 2) {
      throw std::runtime_error("simulator admin call " + path + " failed" +
                               (r ? ": " + std::to_string(r->status) + " " + r->body : ""));
    }
    return r->body;
  }
  std::filesystem::path out_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace postern::test
