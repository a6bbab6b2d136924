#include "faults.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace postern::kandji_sim {
namespace {

constexpr std::array<std::pair<FaultKind, std::string_view>, 9> kKinds = {{
    {FaultKind::Status, "status"},
    {FaultKind::Slow, "slow"},
    {FaultKind::Truncated, "truncated"},
    {FaultKind::Malformed, "malformed"},
    {FaultKind::CursorWrongType, "cursor_wrong_type"},
    {FaultKind::MissingData, "missing_data"},
    {FaultKind::RevokeTokenOnPage, "revoke_token_on_page"},
    {FaultKind::DuplicateRows, "duplicate_rows"},
    {FaultKind::Padded, "padded"},
}};

std::uint64_t positive(const nlohmann::json& v, const char* key) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
    throw std::invalid_argument(std::string("`") + key + "` must be a positive integer");
  }
  return v.get<std::uint64_t>();
}

std::string header_value(const nlohmann::json& v, const char* key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  throw std::invalid_argument(std::string("`") + key + "` must be a string or an integer");
}

Fault parse_one(const nlohmann::json& obj) {
  if (!obj.is_object()) throw std::invalid_argument("a fault must be a JSON object");
  auto kind_it = obj.find("kind");
  if (kind_it == obj.end() || !kind_it->is_string()) {
    throw std::invalid_argument("a fault needs a string `kind`");
  }
  Fault f;
  bool known = false;
  for (const auto& [kind, name] : kKinds) {
    if (name == kind_it->get<std::string>()) {
      f.kind = kind;
      known = true;
    }
  }
  if (!known)
    throw std::invalid_argument("unknown fault kind `" + kind_it->get<std::string>() + "`");

  for (const auto& [key, v] : obj.items()) {
    if (key == "kind") continue;
    if (key == "on_request") {
      f.on_request = positive(v, "on_request");
    } else if (key == "page") {
      f.page = positive(v, "page");
    } else if (key == "times") {
      if (!v.is_number_integer() || (v.get<std::int64_t>() < 1 && v.get<std::int64_t>() != -1)) {
        throw std::invalid_argument("`times` must be a positive integer or -1");
      }
      f.times = v.get<std::int64_t>();
    } else if (key == "status" && f.kind == FaultKind::Status) {
      if (!v.is_number_integer() || v.get<int>() < 100 || v.get<int>() > 599) {
        throw std::invalid_argument("`status` must be an HTTP status code (100-599)");
      }
      f.status = v.get<int>();
    } else if (key == "retry_after" && f.kind == FaultKind::Status) {
      f.retry_after = header_value(v, "retry_after");
    } else if (key == "ratelimit_reset" && f.kind == FaultKind::Status) {
      f.ratelimit_reset = header_value(v, "ratelimit_reset");
    } else if (key == "html" && f.kind == FaultKind::Status) {
      if (!v.is_boolean()) throw std::invalid_argument("`html` must be true or false");
      f.html = v.get<bool>();
    } else if (key == "body" && f.kind == FaultKind::Status) {
      f.body = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (key == "headers") {
      if (!v.is_object()) throw std::invalid_argument("`headers` must be an object of strings");
      for (const auto& [name, value] : v.items()) f.headers[name] = header_value(value, "headers");
    } else if (key == "delay_ms" && f.kind == FaultKind::Slow) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
        throw std::invalid_argument("`delay_ms` must be a non-negative integer");
      }
      f.delay_ms = v.get<std::uint64_t>();
    } else if (key == "count" && f.kind == FaultKind::DuplicateRows) {
      f.count = positive(v, "count");
    } else if (key == "bytes" && f.kind == FaultKind::Padded) {
      f.bytes = positive(v, "bytes");
    } else if (key == "drop_connection" && f.kind == FaultKind::Truncated) {
      if (!v.is_boolean()) throw std::invalid_argument("`drop_connection` must be true or false");
      f.drop_connection = v.get<bool>();
    } else {
      throw std::invalid_argument("unknown key `" + key + "` for fault kind `" + to_string(f.kind) +
                                  "`");
    }
  }
  if (f.kind == FaultKind::RevokeTokenOnPage && !f.page) {
    throw std::invalid_argument("revoke_token_on_page needs `page`");
  }
  if (f.kind == FaultKind::Padded && !obj.contains("bytes")) {
    throw std::invalid_argument("a padded fault needs `bytes`");
  }
  if (f.kind == FaultKind::Status && !obj.contains("status")) {
    throw std::invalid_argument("a status fault needs `status`");
  }
  return f;
}

}  // namespace

std::string to_string(FaultKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return std::string(name);
  }
  return "unknown";
}

bool Fault::selects(std::uint64_t request_no, std::uint64_t page_no) const {
  if (on_request && *on_request != request_no) return false;
  if (page) {
    // A revocation is a state change: it takes effect on the first request at or past `page`.
    if (kind == FaultKind::RevokeTokenOnPage) return page_no >= *page;
    return page_no == *page;
  }
  return true;
}

nlohmann::json Fault::to_json() const {
  nlohmann::json j = {{"kind", to_string(kind)}, {"times", times}};
  if (on_request) j["on_request"] = *on_request;
  if (page) j["page"] = *page;
  switch (kind) {
    case FaultKind::Status:
      j["status"] = status;
      if (retry_after) j["retry_after"] = *retry_after;
      if (ratelimit_reset) j["ratelimit_reset"] = *ratelimit_reset;
      if (html) j["html"] = true;
      if (body) j["body"] = *body;
      break;
    case FaultKind::Slow:
      j["delay_ms"] = delay_ms;
      break;
    case FaultKind::DuplicateRows:
      j["count"] = count;
      break;
    case FaultKind::Padded:
      j["bytes"] = bytes;
      break;
    case FaultKind::Truncated:
      if (drop_connection) j["drop_connection"] = true;
      break;
    default:
      break;
  }
  if (!headers.empty()) j["headers"] = headers;
  return j;
}

std::vector<Fault> parse_faults(const nlohmann::json& doc) {
  std::vector<Fault> out;
  if (doc.is_array()) {
    for (const auto& item : doc) out.push_back(parse_one(item));
  } else {
    out.push_back(parse_one(doc));
  }
  return out;
}

void FaultQueue::add(std::vector<Fault> faults) {
  for (auto& f : faults) faults_.push_back(std::move(f));
}

std::vector<Fault> FaultQueue::take(std::uint64_t request_no, std::uint64_t page_no) {
  std::vector<Fault> fired;
  for (auto& f : faults_) {
    if (f.times == 0 || !f.selects(request_no, page_no)) continue;
    fired.push_back(f);
    if (f.times > 0) --f.times;
  }
  std::erase_if(faults_, [](const Fault& f) { return f.times == 0; });
  return fired;
}

nlohmann::json FaultQueue::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& f : faults_) arr.push_back(f.to_json());
  return arr;
}

}  // namespace postern::kandji_sim
