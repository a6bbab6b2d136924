#include "server_log.hpp"

#include <chrono>
#include <ctime>

#include "postern/sync/redact.hpp"

namespace postern::server {
namespace {

// "2025-06-10T08:14:09.123Z"
std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const auto n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out(buffer, n);
  const auto millis = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

}  // namespace

Log::Log(std::ostream& out) : out_(out) {}

void Log::add_secret(std::string secret) {
  if (secret.empty()) return;
  std::lock_guard lock(mu_);
  for (const auto& s : secrets_) {
    if (s == secret) return;
  }
  secrets_.push_back(std::move(secret));
}

std::string Log::scrub(std::string_view text) {
  std::lock_guard lock(mu_);
  std::string out(text);
  for (const auto& s : secrets_) out = sync::redact(out, s);
  return out;
}

void Log::info(std::string_view message) { write("info", message); }
void Log::warn(std::string_view message) { write("warn", message); }
void Log::error(std::string_view message) { write("error", message); }

void Log::write(std::string_view level, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string text(message);
  for (const auto& s : secrets_) text = sync::redact(text, s);
  out_ << timestamp() << ' ' << level << ' ' << text << '\n';
  out_.flush();
}

}  // namespace postern::server
