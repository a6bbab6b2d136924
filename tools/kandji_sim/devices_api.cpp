// GET /api/v1/devices: Kandji's other list endpoint (spec §1.4), served from the same tenant. A
// bare JSON array paged by `limit` (default and maximum 300) and `offset`, with `x-total-count`
// and `x-total-pages`; `serial_number` filters by substring, as Kandji's does. Faults apply only
// to the Prism endpoint.

#include <algorithm>
#include <charconv>
#include <optional>

#include "http_util.hpp"
#include "simulator.hpp"

namespace postern::kandji_sim {
namespace {

// Prism's `+00:00` timestamps in the `...Z` form /devices mostly uses.
Row z_time(const Row& v) {
  if (!v.is_string()) return v;
  std::string s = v.get<std::string>();
  if (s.size() > 6 && s.compare(s.size() - 6, 6, "+00:00") == 0) s.replace(s.size() - 6, 6, "Z");
  return s;
}

Row field(const Row& row, const char* key, Row fallback = nullptr) {
  auto it = row.find(key);
  return it == row.end() || it->is_null() ? std::move(fallback) : *it;
}

Row devices_row(const Row& prism) {
  Row out = Row::object();
  out["device_id"] = field(prism, "device_id", "");
  out["device_name"] = field(prism, "device__name", "");
  out["model"] = field(prism, "model", "");
  out["serial_number"] = field(prism, "serial_number", "");
  out["platform"] = field(prism, "device__family", "Mac");
  out["os_version"] = field(prism, "os_version", "");
  out["last_check_in"] = z_time(field(prism, "last_checkin"));
  const Row email = field(prism, "device__user_email", "");
  if (email.is_string() && !email.get<std::string>().empty()) {
    // An object when a user is assigned, the empty string when not (the quirk of §1.4).
    out["user"] = {{"email", email},
                   {"name", field(prism, "device__user_name", "")},
                   {"id", field(prism, "device__user_id", "")},
                   {"is_archived", false}};
  } else {
    out["user"] = "";
  }
  out["asset_tag"] = field(prism, "asset_tag", "");
  out["blueprint_id"] = field(prism, "blueprint_id", "");
  out["blueprint_name"] = field(prism, "blueprint_name", "");
  out["mdm_enabled"] = field(prism, "mdm_enabled", false);
  out["agent_installed"] = field(prism, "agent_installed", false);
  out["agent_version"] = field(prism, "agent_version", "");
  out["is_missing"] = false;
  out["is_removed"] = false;
  out["first_enrollment"] = z_time(field(prism, "first_enrollment_date"));
  out["last_enrollment"] = z_time(field(prism, "last_enrollment_date"));
  out["lost_mode_status"] = field(prism, "lost_mode_status", "");
  out["tags"] = field(prism, "tags", Row::array());
  return out;
}

std::optional<std::int64_t> parse_count(const std::string& text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

}  // namespace

void Simulator::list_devices(const httplib::Request& req, httplib::Response& res) {
  const Auth auth = bearer(req);
  LogEntry entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.query = http::raw_query(req);
  RateState rate;
  AuthResult result = AuthResult::Unauthenticated;
  {
    std::lock_guard lock(mutex_);
    rate = rate_.count(RateLimiter::Clock::now());
    result = check_token(auth);
  }
  http::rate_headers(res, config_.rate, rate);
  entry.authorized = result == AuthResult::Ok;
  const auto finish = [&] {
    entry.status = res.status;
    log(std::move(entry));
  };

  if (result == AuthResult::Unauthenticated) {
    http::json_detail(res, 401,
                      auth.present ? "invalid, expired or revoked API token"
                                   : "authentication credentials were not provided");
    return finish();
  }
  if (result == AuthResult::Forbidden) {
    http::json_detail(res, 403, "the API token does not have permission to perform this action");
    return finish();
  }
  std::int64_t limit = static_cast<std::int64_t>(kMaxLimit);
  std::int64_t offset = 0;
  if (req.has_param("limit")) {
    auto n = parse_count(req.get_param_value("limit"));
    if (!n || *n < 1) {
      http::json_detail(res, 400, "limit must be a positive integer");
      return finish();
    }
    limit = std::min<std::int64_t>(*n, static_cast<std::int64_t>(kMaxLimit));
  }
  if (req.has_param("offset")) {
    auto n = parse_count(req.get_param_value("offset"));
    if (!n || *n < 0) {
      http::json_detail(res, 400, "offset must be a non-negative integer");
      return finish();
    }
    offset = *n;
  }
  const std::string serial_part = req.get_param_value("serial_number");
  const std::string platform = req.get_param_value("platform");
  const std::string device_id = req.get_param_value("device_id");

  Row page = Row::array();
  std::size_t total = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& d : store_.devices()) {
      const auto text = [&d](const char* key) {
        auto it = d.row.find(key);
        return it != d.row.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (!serial_part.empty() && text("serial_number").find(serial_part) == std::string::npos) {
        continue;
      }
      if (!platform.empty() && text("device__family") != platform) continue;
      if (!device_id.empty() && text("device_id") != device_id) continue;
      const auto index = static_cast<std::int64_t>(total++);
      if (index >= offset && index < offset + limit) page.push_back(devices_row(d.row));
    }
  }
  const auto pages = (static_cast<std::int64_t>(total) + limit - 1) / limit;
  res.status = 200;
  res.set_content(page.dump(), http::kJson);
  http::put_header(res, "x-total-count", std::to_string(total));
  http::put_header(res, "x-total-pages", std::to_string(pages));
  finish();
}

}  // namespace postern::kandji_sim
