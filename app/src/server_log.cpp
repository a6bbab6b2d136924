#include "server_log.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include "postern/grammar/diag.hpp"
#include "postern/sync/redact.hpp"

namespace postern::server {

Log::Log(std::ostream& out, const std::string& level)
    : logger_(std::make_shared<spdlog::logger>(
          "postern", std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true))) {
  // "2025-06-10T08:14:09.123Z info message"
  logger_->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc));
  logger_->set_level(spdlog::level::from_str(level));
}

Log::~Log() = default;

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

void Log::debug(std::string_view message) {
  if (logger_->should_log(spdlog::level::debug)) logger_->debug("{}", line(message));
}
void Log::info(std::string_view message) { logger_->info("{}", line(message)); }
void Log::warn(std::string_view message) { logger_->warn("{}", line(message)); }
void Log::error(std::string_view message) { logger_->error("{}", line(message)); }

// One record per event whatever a message quotes: no ESC to drive the terminal that tails the
// log, and a message's later lines (a reload's diagnostics) indented under it, so no line of
// it can pass for a record of its own.
std::string Log::line(std::string_view message) {
  const std::string text = grammar::printable(scrub(message), true);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

void Log::warn_repeating(std::string_view message) {
  std::uint64_t count = 0;
  {
    std::string key(message);
    std::lock_guard lock(mu_);
    if (repeats_.size() >= 256 && repeats_.find(key) == repeats_.end()) {
      repeats_.clear();  // bounded; a new wave of messages starts counting afresh
    }
    count = ++repeats_[std::move(key)];
  }
  if ((count & (count - 1)) != 0) return;  // not a power of two
  if (count == 1) return warn(message);
  warn(fmt::format("{} ({} times so far)", message, count));
}

}  // namespace postern::server
