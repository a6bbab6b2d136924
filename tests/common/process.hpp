#pragma once
// The one launcher for tests that run built binaries (`postern`, `postern-kandji-sim`): spawn
// with arguments and environment, collect stdout and stderr, wait for an event with a bound,
// stop or kill. Waits block on the child's pipes and its pidfd, never on sleeps.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace postern::test {

using namespace std::chrono_literals;

// A built binary by its path in the build tree, e.g. "app/postern".
std::string binary(const std::string& relative);
// The Kandji-compatible test server (tools/kandji_sim).
std::string kandji_sim_binary();

class Process {
 public:
  // Starts `argv[0]` with `argv`; `env` entries ("NAME=value") are added to, or replace, the
  // inherited environment. stdin is /dev/null.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> env = {});
  // Kills (SIGKILL) and reaps a process still running.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The port of a stdout line `listening on HOST:PORT`; nullopt when the process ends or
  // `bound` passes first.
  std::optional<int> wait_listening(std::chrono::milliseconds bound = 60s);
  // True once stdout (stderr) contains `text` at least `times` times; false when the process
  // ends or `bound` passes first. Servers announce their events there (a sync, a reload, a
  // change followed from the store): tests block on the pipe instead of polling.
  bool wait_for_stdout(std::string_view text, std::size_t times = 1,
                       std::chrono::milliseconds bound = 60s);
  bool wait_for_stderr(std::string_view text, std::size_t times = 1,
                       std::chrono::milliseconds bound = 60s);
  // The exit status once the process ends on its own (-1: ended by a signal); nullopt while it
  // is still running after `bound`.
  std::optional<int> wait_exit(std::chrono::milliseconds bound = 120s);
  // Sends `sig`, then reaps: the exit status as for wait_exit.
  int stop(int sig = SIGTERM);
  void signal(int sig) const;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  // Everything written so far; complete once the process has been reaped.
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;

 private:
  void collect(int out_fd, int err_fd);
  bool wait_for(const std::string& stream, std::string_view text, std::size_t times,
                std::chrono::milliseconds bound);
  void reap(int status);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int exit_status_ = -1;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool output_closed_ = false;
  std::thread reader_;
};

// How many times `needle` occurs in `text` (non-overlapping): what wait_for_stdout/stderr count.
std::size_t occurrences(std::string_view text, std::string_view needle);

struct ProcessResult {
  int exit_code = -1;  // -1: ended by a signal, or killed after the bound
  std::string out;
  std::string err;
};

// Runs `argv` to completion; a process still running after `bound` is killed.
ProcessResult run_process(std::vector<std::string> argv, std::vector<std::string> env = {},
                          std::chrono::milliseconds bound = 120s);

}  // namespace postern::test
