#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <stdexcept>

extern char** environ;

namespace postern::test {
namespace {

// `environ` with `overrides` ("NAME=value") added or replacing the inherited entry.
std::vector<std::string> environment(const std::vector<std::string>& overrides) {
  const auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(overrides.begin(), overrides.end(),
                                      [&](const auto& o) { return name_of(o) == name_of(entry); });
    if (!replaced) out.emplace_back(entry);
  }
  out.insert(out.end(), overrides.begin(), overrides.end());
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& texts) {
  std::vector<char*> out;
  for (auto& t : texts) out.push_back(t.data());
  out.push_back(nullptr);
  return out;
}

int poll_timeout(std::chrono::milliseconds bound) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(bound.count(), 0, 3'600'000));
}

// The port in a complete stdout line `listening on HOST:PORT`.
std::optional<int> listening_port(const std::string& out) {
  static constexpr std::string_view kPrefix = "listening on ";
  for (std::size_t line = 0; line < out.size();) {
    const auto end = out.find('\n', line);
    if (end == std::string::npos) break;
    const std::string_view text(out.data() + line, end - line);
    const auto colon = text.rfind(':');
    if (text.substr(0, kPrefix.size()) == kPrefix && colon != std::string_view::npos) {
      return std::stoi(std::string(text.substr(colon + 1)));
    }
    line = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string binary(const std::string& relative) {
  return std::string(POSTERN_BINARY_DIR) + "/" + relative;
}

std::string kandji_sim_binary() { return binary("tools/postern-kandji-sim"); }

Process::Process(std::vector<std::string> argv, std::vector<std::string> env) {
  std::array<int, 2> out{};
  std::array<int, 2> err{};
  if (pipe2(out.data(), O_CLOEXEC) != 0 || pipe2(err.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  auto env_text = environment(env);
  const auto argv_ptrs = pointers(argv);
  const auto env_ptrs = pointers(env_text);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(null_in, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    _exit(127);
  }
  close(null_in);
  close(out[1]);
  close(err[1]);
  // The syscall itself: Debian 12's <sys/pidfd.h> lacks extern "C", so its wrapper does not link.
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) throw std::runtime_error("pidfd_open failed");
  reader_ = std::thread([this, o = out[0], e = err[0]] { collect(o, e); });
}

Process::~Process() {
  if (pid_ > 0) stop(SIGKILL);
  if (reader_.joinable()) reader_.join();
  if (pidfd_ >= 0) close(pidfd_);
}

void Process::collect(int out_fd, int err_fd) {
  std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
  std::array<char, 65536> buffer{};
  int open_fds = 2;
  while (open_fds > 0 && poll(fds.data(), fds.size(), -1) > 0) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const auto n = read(fds[i].fd, buffer.data(), buffer.size());
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::lock_guard lock(mu_);
      (i == 0 ? out_ : err_).append(buffer.data(), static_cast<std::size_t>(n));
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  output_closed_ = true;
  changed_.notify_all();
}

std::optional<int> Process::wait_listening(std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  std::optional<int> port;
  changed_.wait_for(lock, bound, [&] {
    port = listening_port(out_);
    return port.has_value() || output_closed_;
  });
  return port;
}

std::size_t occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

bool Process::wait_for(const std::string& stream, std::string_view text, std::size_t times,
                       std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  const auto seen = [&] { return occurrences(stream, text) >= times; };
  return changed_.wait_for(lock, bound, [&] { return seen() || output_closed_; }) && seen();
}

bool Process::wait_for_stdout(std::string_view text, std::size_t times,
                              std::chrono::milliseconds bound) {
  return wait_for(out_, text, times, bound);
}

bool Process::wait_for_stderr(std::string_view text, std::size_t times,
                              std::chrono::milliseconds bound) {
  return wait_for(err_, text, times, bound);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds bound) {
  if (pid_ <= 0) return exit_status_;
  pollfd ended{pidfd_, POLLIN, 0};
  if (poll(&ended, 1, poll_timeout(bound)) <= 0) return std::nullopt;
  int status = 0;
  waitpid(pid_, &status, 0);
  reap(status);
  return exit_status_;
}

void Process::reap(int status) {
  pid_ = -1;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  // The pipes close when the process ends: the reader finishes with all of its output.
  if (reader_.joinable()) reader_.join();
}

int Process::stop(int sig) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, sig);
  if (const auto status = wait_exit(60s)) return *status;
  kill(pid_, SIGKILL);
  return wait_exit(60s).value_or(-1);
}

void Process::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::string Process::out() const {
  std::lock_guard lock(mu_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard lock(mu_);
  return err_;
}

ProcessResult run_process(std::vector<std::string> argv, std::vector<std::string> env,
                          std::chrono::milliseconds bound) {
  Process process(std::move(argv), std::move(env));
  const auto status = process.wait_exit(bound);
  if (!status) process.stop(SIGKILL);
  return ProcessResult{status.value_or(-1), process.out(), process.err()};
}

}  // namespace postern::test
