#include "listening_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "scratch.hpp"

namespace postern::test {

ListeningProcess::ListeningProcess(const std::string& binary, const std::vector<std::string>& args,
                                   std::filesystem::path stderr_path, std::chrono::seconds startup)
    : stderr_path_(std::move(stderr_path)) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> argv_text = {binary};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (!stderr_path_.empty()) {
      const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (err >= 0) dup2(err, STDERR_FILENO);
    }
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  stdout_ = out[0];
  first_line_ = read_line(startup);
  const std::string prefix = "listening on 127.0.0.1:";
  if (first_line_.rfind(prefix, 0) == 0) port_ = std::stoi(first_line_.substr(prefix.size()));
}

ListeningProcess::~ListeningProcess() {
  if (pid_ > 0) stop();
  if (stdout_ >= 0) close(stdout_);
}

int ListeningProcess::stop(int sig) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, sig);
  return wait_exit();
}

int ListeningProcess::wait_exit() {
  if (pid_ <= 0) return exit_status_;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_status_;
}

void ListeningProcess::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::string ListeningProcess::stderr_text() const {
  return stderr_path_.empty() ? std::string() : slurp(stderr_path_);
}

std::string ListeningProcess::rest_of_stdout() const {
  std::string all;
  char buffer[4096];
  for (;;) {
    pollfd p{stdout_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    const auto n = read(stdout_, buffer, sizeof buffer);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

std::string ListeningProcess::read_line(std::chrono::seconds timeout) const {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{stdout_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char c = 0;
    if (read(stdout_, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

}  // namespace postern::test
