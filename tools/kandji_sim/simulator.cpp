#include "simulator.hpp"

#include <algorithm>
#include <chrono>

#include "http_util.hpp"

namespace postern::kandji_sim {
namespace {

using http::html_page;
using http::json_detail;
using http::kJson;
using http::put_header;
using http::rate_headers;
using http::raw_query;
using http::reason;

// A status fault's response: the body a gateway or origin would plausibly send for it.
void status_response(httplib::Response& res, const Fault& f) {
  res.status = f.status;
  if (f.html) {
    res.set_content(html_page(f.status), "text/html; charset=utf-8");
  } else if (f.body) {
    const bool is_json = !nlohmann::json::parse(*f.body, nullptr, false).is_discarded();
    res.set_content(*f.body, is_json ? kJson : "text/plain; charset=utf-8");
  } else if (f.status == 429) {
    res.set_content(R"({"message":"API rate limit exceeded"})", kJson);
  } else if (f.status >= 400 && f.status < 500) {
    res.set_content(nlohmann::json{{"detail", reason(f.status)}}.dump(), kJson);
  }
  if (f.retry_after) put_header(res, "Retry-After", *f.retry_after);
  if (f.ratelimit_reset) put_header(res, "RateLimit-Reset", *f.ratelimit_reset);
}

// Python's repr of a dict: what a broken origin printing the wrong thing would send.
std::string malformed_body(std::size_t limit, std::size_t total) {
  return "{'offset': None, 'limit': " + std::to_string(limit) +
         ", 'total': " + std::to_string(total) +
         ", 'data': [{'device_id': <DeviceInformation object>}]}";
}

}  // namespace

Simulator::Simulator(SimConfig config)
    : config_(std::move(config)), rate_(config_.rate), log_(config_.request_log_path) {
  reset_state();
}

void Simulator::reset_state() {
  store_.assign(config_.initial_rows);
  faults_.clear();
  rate_.reset();
  log_.clear();
  token_ = config_.token;
  forbidden_tokens_ = config_.forbidden_tokens;
  revoked_.clear();
  retired_tokens_.insert(token_);
  token_has_permission_ = true;
  request_count_ = 0;
  offset_drift_ = 0;
}

void Simulator::shutdown() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

bool Simulator::sleep_for(std::uint64_t ms) {
  std::unique_lock lock(stop_mutex_);
  return !stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

Simulator::Auth Simulator::bearer(const httplib::Request& req) {
  Auth auth;
  if (!req.has_header("Authorization")) return auth;
  const std::string value = req.get_header_value("Authorization");
  if (value.size() < 7) return auth;
  std::string scheme = value.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "bearer ") return auth;
  auth.token = value.substr(7);
  while (!auth.token.empty() && (auth.token.back() == ' ' || auth.token.back() == '\t')) {
    auth.token.pop_back();
  }
  while (!auth.token.empty() && auth.token.front() == ' ') auth.token.erase(0, 1);
  auth.present = !auth.token.empty();
  return auth;
}

Simulator::AuthResult Simulator::check_token(const Auth& auth) const {
  if (!auth.present || revoked_.count(auth.token) > 0) return AuthResult::Unauthenticated;
  if (std::find(forbidden_tokens_.begin(), forbidden_tokens_.end(), auth.token) !=
      forbidden_tokens_.end()) {
    return AuthResult::Forbidden;
  }
  if (auth.token != token_) return AuthResult::Unauthenticated;
  return token_has_permission_ ? AuthResult::Ok : AuthResult::Forbidden;
}

std::vector<std::string> Simulator::secrets() const {
  std::vector<std::string> out(retired_tokens_.begin(), retired_tokens_.end());
  out.insert(out.end(), forbidden_tokens_.begin(), forbidden_tokens_.end());
  out.insert(out.end(), revoked_.begin(), revoked_.end());
  return out;
}

void Simulator::log(LogEntry entry) {
  std::lock_guard lock(mutex_);
  log_.append(std::move(entry), secrets());
}

void Simulator::device_information(const httplib::Request& req, httplib::Response& res) {
  const Auth auth = bearer(req);
  LogEntry entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.query = raw_query(req);

  std::variant<PageQuery, QueryError> parsed =
      parse_page_query(req.params, config_.page_size, config_.style);
  std::vector<Fault> fired;
  RateState rate;
  AuthResult auth_result = AuthResult::Unauthenticated;
  {
    std::lock_guard lock(mutex_);
    entry.request_no = ++request_count_;
    rate = rate_.count(RateLimiter::Clock::now());
    std::uint64_t page_no = 0;  // unknown for a query that does not parse
    if (const auto* q = std::get_if<PageQuery>(&parsed)) {
      std::size_t pos = 0;
      if (q->after_seq) {
        const auto& devices = store_.devices();
        for (const auto& d : devices) {
          if (d.seq > *q->after_seq) break;
          if (matches(*q, d.row)) ++pos;
        }
      } else {
        pos = static_cast<std::size_t>(q->offset.value_or(0));
      }
      page_no = pos / q->limit + 1;
      entry.page = page_no;
    }
    fired = faults_.take(entry.request_no, page_no);
    auth_result = check_token(auth);
    for (const auto& f : fired) {
      if (f.kind == FaultKind::RevokeTokenOnPage && auth_result == AuthResult::Ok) {
        revoked_.insert(auth.token);
        auth_result = AuthResult::Unauthenticated;
      }
    }
  }
  entry.authorized = auth_result == AuthResult::Ok;
  for (const auto& f : fired) entry.faults.push_back(to_string(f.kind));

  const auto finish = [&]() {
    for (const auto& f : fired) {
      for (const auto& [name, value] : f.headers) put_header(res, name, value);
    }
    entry.status = res.status;
    log(std::move(entry));
  };
  const auto has = [&fired](FaultKind kind) {
    return std::any_of(fired.begin(), fired.end(),
                       [kind](const Fault& f) { return f.kind == kind; });
  };

  rate_headers(res, config_.rate, rate);
  std::uint64_t delay = 0;
  for (const auto& f : fired) {
    if (f.kind == FaultKind::Slow) delay += f.delay_ms;
  }
  if (delay > 0 && !sleep_for(delay)) {
    json_detail(res, 503, "server shutting down");
    return finish();
  }
  for (const auto& f : fired) {
    if (f.kind == FaultKind::Status) {
      status_response(res, f);
      return finish();
    }
  }
  if (rate.exceeded) {
    res.status = 429;
    res.set_content(R"({"message":"API rate limit exceeded"})", kJson);
    put_header(res, "Retry-After", std::to_string(rate.retry_after));
    return finish();
  }
  if (auth_result == AuthResult::Unauthenticated) {
    json_detail(res, 401,
                auth.present ? "invalid, expired or revoked API token"
                             : "authentication credentials were not provided");
    put_header(res, "WWW-Authenticate", "Bearer");
    return finish();
  }
  if (auth_result == AuthResult::Forbidden) {
    json_detail(res, 403, "the API token does not have permission to perform this action");
    return finish();
  }
  if (const auto* err = std::get_if<QueryError>(&parsed)) {
    json_detail(res, err->status, err->detail);
    return finish();
  }
  const PageQuery& q = std::get<PageQuery>(parsed);

  std::string data = "[";
  std::size_t total = 0;
  std::size_t reported_total = 0;
  std::size_t next_pos = 0;
  std::optional<std::string> next_cursor;
  {
    std::lock_guard lock(mutex_);
    std::vector<const StoredDevice*> rows;
    rows.reserve(store_.devices().size());
    for (const auto& d : store_.devices()) {
      if (matches(q, d.row)) rows.push_back(&d);
    }
    total = rows.size();
    reported_total = total;
    std::size_t pos = 0;
    if (q.after_seq) {
      pos = static_cast<std::size_t>(
          std::partition_point(rows.begin(), rows.end(),
                               [&q](const StoredDevice* d) { return d->seq <= *q.after_seq; }) -
          rows.begin());
    } else {
      pos = static_cast<std::size_t>(
          std::min<std::int64_t>(q.offset.value_or(0), static_cast<std::int64_t>(total)));
      if (pos == 0) offset_drift_ = 0;  // a new offset walk starts without drift
    }
    // duplicate_rows: the page starts early, as if rows were inserted before it mid-walk. An
    // offset walk stays shifted for its remaining pages; a cursor resumes after the last row.
    std::size_t shift = q.after_seq ? 0 : offset_drift_;
    for (const auto& f : fired) {
      if (f.kind != FaultKind::DuplicateRows || pos == 0) continue;
      if (!q.after_seq) offset_drift_ += f.count;
      shift += f.count;
    }
    // The shifted walk sees a tenant grown by the inserted rows, so it reaches the real end.
    if (!q.after_seq) reported_total = total + offset_drift_;
    const std::size_t start = pos >= shift ? pos - shift : 0;
    const std::size_t end = std::min(start + q.limit, total);
    for (std::size_t i = start; i < end; ++i) {
      if (i > start) data += ',';
      data += rows[i]->json;
    }
    next_pos = end;
    if (config_.style == PageStyle::Cursor && end < total && end > start) {
      next_cursor = encode_cursor(rows[end - 1]->seq, q.fingerprint);
    }
  }
  data += ']';

  std::string cursor_json = next_cursor ? nlohmann::json(*next_cursor).dump() : "null";
  if (has(FaultKind::CursorWrongType)) cursor_json = std::to_string(next_pos);
  std::string body = "{\"offset\":" + (q.offset ? std::to_string(*q.offset) : "null") +
                     ",\"limit\":" + std::to_string(q.limit) +
                     ",\"total\":" + std::to_string(reported_total);
  if (!has(FaultKind::MissingData)) body += ",\"data\":" + data;
  body += ",\"cursor\":" + cursor_json + "}";

  if (has(FaultKind::Malformed)) body = malformed_body(q.limit, total);
  for (const auto& f : fired) {
    if (f.kind == FaultKind::Padded && f.bytes > body.size()) body.resize(f.bytes, ' ');
  }
  res.status = 200;
  for (const auto& f : fired) {
    if (f.kind != FaultKind::Truncated) continue;
    const std::size_t cut = std::max<std::size_t>(1, body.size() / 2);
    if (f.drop_connection) {
      // Announce the full length, send half, then fail the write so the connection closes.
      auto shared = std::make_shared<std::string>(body.substr(0, cut));
      res.set_content_provider(body.size(), kJson,
                               [shared](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 if (offset == 0) sink.write(shared->data(), shared->size());
                                 return false;
                               });
      return finish();
    }
    body.resize(cut);
  }
  res.set_content(body, kJson);
  finish();
}

void Simulator::prism_count(const httplib::Request& req, httplib::Response& res) {
  const Auth auth = bearer(req);
  LogEntry entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.query = raw_query(req);
  RateState rate;
  AuthResult result = AuthResult::Unauthenticated;
  std::size_t count = 0;
  {
    std::lock_guard lock(mutex_);
    rate = rate_.count(RateLimiter::Clock::now());
    result = check_token(auth);
    count = store_.devices().size();
  }
  rate_headers(res, config_.rate, rate);
  entry.authorized = result == AuthResult::Ok;
  if (result == AuthResult::Unauthenticated) {
    json_detail(res, 401,
                auth.present ? "invalid, expired or revoked API token"
                             : "authentication credentials were not provided");
  } else if (result == AuthResult::Forbidden) {
    json_detail(res, 403, "the API token does not have permission to perform this action");
  } else if (req.get_param_value("category") != "device_information") {
    json_detail(res, 400, "invalid category");
  } else {
    res.status = 200;
    res.set_content(nlohmann::json{{"count", count}, {"approximate", false}}.dump(), kJson);
  }
  entry.status = res.status;
  log(std::move(entry));
}

void Simulator::not_found(const httplib::Request& req, httplib::Response& res) {
  if (req.path.rfind("/_sim/", 0) == 0) {
    json_detail(res, 404, "unknown simulator endpoint");
    return;
  }
  res.status = 404;
  res.set_content(html_page(404), "text/html; charset=utf-8");
  LogEntry entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.query = raw_query(req);
  entry.status = 404;
  {
    std::lock_guard lock(mutex_);
    entry.authorized = check_token(bearer(req)) == AuthResult::Ok;
  }
  log(std::move(entry));
}

void Simulator::register_routes(httplib::Server& server) {
  const auto bind = [this](void (Simulator::*fn)(const httplib::Request&, httplib::Response&)) {
    return
        [this, fn](const httplib::Request& req, httplib::Response& res) { (this->*fn)(req, res); };
  };
  server.Get("/api/v1/prism/device_information", bind(&Simulator::device_information));
  server.Get("/api/v1/prism/count", bind(&Simulator::prism_count));
  server.Get("/api/v1/devices", bind(&Simulator::list_devices));
  admin_routes(server);
  const auto fallback = bind(&Simulator::not_found);
  server.Get(".*", fallback);
  server.Post(".*", fallback);
  server.Put(".*", fallback);
  server.Patch(".*", fallback);
  server.Delete(".*", fallback);
}

}  // namespace postern::kandji_sim
