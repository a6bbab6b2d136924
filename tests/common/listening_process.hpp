#pragma once
// A child process (a server: `postern serve`, `postern-kandji-sim`) whose first stdout line is
// `listening on 127.0.0.1:PORT`. Its stderr goes to a file when one is given; it gets SIGTERM and
// is reaped on destruction.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace postern::test {

class ListeningProcess {
 public:
  // Starts `binary args...` and waits up to `startup` for the first stdout line. A process that
  // prints something else or nothing has port() == 0; the caller decides whether that is a failure.
  ListeningProcess(const std::string& binary, const std::vector<std::string>& args,
                   std::filesystem::path stderr_path = {},
                   std::chrono::seconds startup = std::chrono::seconds(120));
  ~ListeningProcess();
  ListeningProcess(const ListeningProcess&) = delete;
  ListeningProcess& operator=(const ListeningProcess&) = delete;

  // Sends `sig`, waits, returns the exit status (-1 when it ended by a signal).
  int stop(int sig = SIGTERM);
  // Waits for the process to end on its own; the exit status as for stop().
  int wait_exit();
  void signal(int sig) const;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& first_line() const { return first_line_; }
  [[nodiscard]] std::string stderr_text() const;
  // Whatever the process has written to stdout since the first line, without blocking.
  [[nodiscard]] std::string rest_of_stdout() const;

 private:
  [[nodiscard]] std::string read_line(std::chrono::seconds timeout) const;

  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  int stdout_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
  std::string first_line_;
};

}  // namespace postern::test
