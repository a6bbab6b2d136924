#include "request_log.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "postern/grammar/time.hpp"

namespace postern::kandji_sim {

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
  if (!file) return;
  if (*file == "-") {
    sink_ = &std::cout;
    return;
  }
  file_.open(*file, std::ios::app);
  if (!file_)
    throw std::runtime_error(fmt::format("cannot open request log `{}` for appending", *file));
  sink_ = &file_;
}

void RequestLog::append(LogEntry entry, const std::vector<std::string>& secrets) {
  nlohmann::json j = {
      {"time", entry.time.empty() ? timefmt::format_rfc3339_millis(std::chrono::system_clock::now())
                                  : entry.time},
      {"method", entry.method},
      {"path", redact(entry.path, secrets)},
      {"query", redact(entry.query, secrets)},
      {"status", entry.status},
      {"authorized", entry.authorized},
  };
  if (entry.request_no > 0) j["request_no"] = entry.request_no;
  j["page"] = entry.page ? nlohmann::json(*entry.page) : nlohmann::json(nullptr);
  j["faults"] = entry.faults;
  if (sink_ != nullptr) *sink_ << j.dump() << std::endl;
  entries_.push_back(std::move(j));
}

nlohmann::json RequestLog::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& e : entries_) arr.push_back(e);
  return arr;
}

}  // namespace postern::kandji_sim
