// Kandji fetch: URL normalisation and the pagination loop of spec kandji.md §1.3.
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "postern/sync/http_retry.hpp"
#include "postern/sync/kandji.hpp"
#include "postern/sync/redact.hpp"

namespace postern::sync {
namespace {

SyncError config_error(std::string message) {
  return SyncError{SyncErrorKind::Config, std::move(message)};
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return c == '.' || std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 0x0FU];
    }
  }
  return out;
}

}  // namespace

Result<std::string> normalise_kandji_url(std::string_view url) {
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front())))
    url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  if (url.empty()) return config_error("the API URL is empty");
  bool plain_http = false;
  const std::string lowered = lower(url);
  if (lowered.rfind("https://", 0) == 0) {
    url.remove_prefix(8);
  } else if (lowered.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
    plain_http = true;
  } else if (lowered.find("://") != std::string::npos) {
    return config_error("the API URL must use https");
  }
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty()) return config_error("the API URL has no host name");
  if (url.find_first_of("/?#@ \t") != std::string_view::npos) {
    return config_error("the API URL `" + std::string(url) +
                        "` must be a host name only, like `example.api.kandji.io`");
  }
  const std::string host_port = lower(url);
  std::string host = host_port;
  std::string port;
  if (host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string::npos) return config_error("the API URL has an unclosed `[`");
    host = host_port.substr(0, close + 1);
    port = host_port.substr(close + 1);
  } else if (const auto colon = host_port.find(':'); colon != std::string::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon);
  }
  if (!port.empty()) {
    if (port.size() < 2 || port.front() != ':' ||
        !std::all_of(port.begin() + 1, port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      return config_error("the API URL has an invalid port");
    }
  }
  if (host.front() != '[') {
    const bool valid = !host.empty() && host.front() != '.' && host.front() != '-' &&
                       std::all_of(host.begin(), host.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
                       });
    if (!valid) return config_error("the API URL has an invalid host name `" + host + "`");
  }
  // Plain http is kept only for loopback test servers; elsewhere it is upgraded, as Kandji's own
  // CLI does, so the token never crosses a network in clear text.
  const bool keep_http = plain_http && is_loopback(host);
  if (!keep_http && host == "[::1]") return std::string("https://[::1]") + port;
  return (keep_http ? "http://" : "https://") + host + port;
}

std::vector<std::string> KandjiProvider::attribute_keys() const {
  return {std::string(kKandjiMdmEnabled), std::string(kKandjiAgentInstalled)};
}

Result<std::string> KandjiProvider::normalise_url(std::string_view url) const {
  return normalise_kandji_url(url);
}

Result<Snapshot> KandjiProvider::fetch(HttpTransport& transport, Clock& clock,
                                       const ProviderConfig& config, const FetchOptions& options,
                                       const std::function<void(const FetchProgress&)>& progress) {
  const TimePoint deadline = clock.now() + options.sync_deadline;
  RetryState state;
  state.rng.seed(options.jitter_seed != 0
                     ? options.jitter_seed
                     : static_cast<std::uint64_t>(clock.now().time_since_epoch().count()));
  const std::string base = config.url + std::string(kKandjiPath);
  const std::string limit = "limit=" + std::to_string(options.page_limit);
  HttpRequest request;
  request.headers = {{"Authorization", "Bearer " + config.token}, {"Accept", "application/json"}};
  request.url = base + "?" + limit;

  Snapshot snapshot;
  std::unordered_map<std::string, std::size_t> by_id;
  std::int64_t offset = 0;
  std::optional<std::string> previous_cursor;
  FetchProgress report;
  for (int page_number = 1;; ++page_number) {
    if (page_number > options.max_pages) {
      return SyncError{SyncErrorKind::Protocol, "more than " + std::to_string(options.max_pages) +
                                                    " pages; the listing does not end"};
    }
    auto response =
        get_with_retry(transport, clock, request, options, deadline, state, config.token);
    snapshot.requests = state.requests;
    if (!response) {
      SyncError error = response.error();
      error.message = "page " + std::to_string(page_number) + ": " + error.message;
      return error;
    }
    auto page = kandji_mapper::map_page(response.value().body);
    if (!page) {
      SyncError error = page.error();
      error.message = "page " + std::to_string(page_number) + ": " + error.message;
      return error;
    }
    KandjiPage& data = page.value();
    snapshot.pages = page_number;
    snapshot.records_without_serial += data.rows_without_serial;
    for (auto& device : data.devices) {
      const auto [it, inserted] = by_id.try_emplace(device.provider_id, snapshot.devices.size());
      if (inserted) {
        snapshot.devices.push_back(std::move(device));
      } else {
        // The same device twice (offset drift): keep the fresher row.
        ProviderDevice& kept = snapshot.devices[it->second];
        if (device.last_seen.value_or(0) >= kept.last_seen.value_or(0)) kept = std::move(device);
      }
    }
    report.pages = page_number;
    report.devices = snapshot.devices.size();
    if (progress) progress(report);
    offset += static_cast<std::int64_t>(data.rows);
    if (data.cursor) {
      if (previous_cursor == data.cursor) {
        return SyncError{SyncErrorKind::Protocol,
                         "page " + std::to_string(page_number) + ": the cursor did not advance"};
      }
      previous_cursor = data.cursor;
      request.url = base + "?" + limit + "&cursor=" + percent_encode(*data.cursor);
      continue;
    }
    if (data.rows == 0) break;
    if (data.total && offset >= *data.total) break;
    const std::int64_t page_size = data.limit.value_or(options.page_limit);
    if (static_cast<std::int64_t>(data.rows) < page_size) break;
    request.url = base + "?" + limit + "&offset=" + std::to_string(offset);
  }
  return snapshot;
}

}  // namespace postern::sync
