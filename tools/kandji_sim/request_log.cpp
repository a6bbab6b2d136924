#include "request_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace postern::kandji_sim {
namespace {

std::string now_rfc3339() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (auto pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 10)) {
      text.replace(pos, secret.size(), "[REDACTED]");
    }
  }
  return text;
}

RequestLog::RequestLog(const std::optional<std::string>& file) {
  if (file) {
    file_.open(*file, std::ios::app);
    if (!file_) throw std::runtime_error("cannot open request log `" + *file + "` for appending");
  }
}

void RequestLog::append(LogEntry entry, const std::vector<std::string>& secrets) {
  nlohmann::json j = {
      {"time", entry.time.empty() ? now_rfc3339() : entry.time},
      {"method", entry.method},
      {"path", redact(entry.path, secrets)},
      {"query", redact(entry.query, secrets)},
      {"status", entry.status},
      {"authorized", entry.authorized},
  };
  if (entry.request_no > 0) j["request_no"] = entry.request_no;
  j["page"] = entry.page ? nlohmann::json(*entry.page) : nlohmann::json(nullptr);
  j["faults"] = entry.faults;
  if (file_.is_open()) {
    file_ << j.dump() << '\n';
    file_.flush();
  }
  entries_.push_back(std::move(j));
}

nlohmann::json RequestLog::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& e : entries_) arr.push_back(e);
  return arr;
}

}  // namespace postern::kandji_sim
