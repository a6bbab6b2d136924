// The sync status's JSON form, shared by the SQLite and PostgreSQL stores.
#include "status_json.hpp"

namespace postern::store {

using nlohmann::json;
using sync::SyncStatus;

json status_to_json(const SyncStatus& s) {
  json j;
  auto opt = [&](const char* key, const std::optional<std::int64_t>& v) {
    j[key] = v ? json(*v) : json(nullptr);
  };
  opt("last_success", s.last_success);
  opt("last_attempt", s.last_attempt);
  opt("paused_until", s.paused_until);
  opt("next_run", s.next_run);
  j["last_error"] = s.last_error;
  j["last_error_kind"] = s.last_error_kind;
  j["provider_host_count"] = s.provider_host_count;
  j["matched_count"] = s.matched_count;
  j["possible_matched_count"] = s.possible_matched_count;
  j["ambiguous_serials"] = s.ambiguous_serials;
  j["records_without_serial"] = s.records_without_serial;
  j["pages"] = s.pages;
  j["duration_ms"] = s.duration_ms;
  j["suspect_streak"] = s.suspect_streak;
  j["warning"] = s.warning;
  j["commits"] = s.commits;
  j["sync_requests"] = s.sync_requests;
  return j;
}

SyncStatus status_from_json(const std::string& text) {
  SyncStatus s;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  auto opt = [&](const char* key) -> std::optional<std::int64_t> {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  auto num = [&](const char* key) { return opt(key).value_or(0); };
  auto str = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  s.last_success = opt("last_success");
  s.last_attempt = opt("last_attempt");
  s.paused_until = opt("paused_until");
  s.next_run = opt("next_run");
  s.last_error = str("last_error");
  s.last_error_kind = str("last_error_kind");
  s.provider_host_count = num("provider_host_count");
  s.matched_count = num("matched_count");
  s.possible_matched_count = num("possible_matched_count");
  if (const auto it = j.find("ambiguous_serials"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) s.ambiguous_serials.push_back(v.get<std::string>());
    }
  }
  s.records_without_serial = num("records_without_serial");
  s.pages = num("pages");
  s.duration_ms = num("duration_ms");
  s.suspect_streak = num("suspect_streak");
  s.warning = str("warning");
  s.commits = num("commits");
  s.sync_requests = num("sync_requests");
  return s;
}

sync::SyncStatus with_stored_schedule(sync::SyncStatus committed, const sync::SyncStatus& stored) {
  committed.next_run = stored.next_run;
  committed.sync_requests = stored.sync_requests;
  return committed;
}

std::string with_integration_id(const std::string& details, std::int64_t id) {
  json j = json::parse(details, nullptr, false);
  if (!j.is_object()) return details;
  j["integration_id"] = id;
  return j.dump();
}

}  // namespace postern::store
