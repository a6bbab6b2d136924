// Kandji fetch: URL normalisation and the pagination loop of spec kandji.md §1.3.
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <unordered_map>

#include "postern/grammar/loopback.hpp"
#include "postern/sync/http_retry.hpp"
#include "postern/sync/kandji.hpp"
#include "postern/sync/redact.hpp"

namespace postern::sync {
namespace {

SyncError config_error(std::string message) {
  return SyncError{SyncErrorKind::Config, std::move(message)};
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// One component of a parsed URL; nullopt when the URL has none.
std::optional<std::string> url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A DNS name (letters, digits, `-`, `.`; no label starting with `-` or `.`) or a bracketed IPv6
// literal, which libcurl has already validated.
bool is_host_name(std::string_view host) {
  if (host.front() == '[') return true;
  if (host.front() == '.' || host.front() == '-') return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// `{base}{path}?limit=N[&name=value]`, the value escaped by libcurl (cursors contain `+/=`).
std::string page_url(const std::string& base, std::size_t limit, std::string_view name = {},
                     std::string_view value = {}) {
  CurlUrl url(curl_url());
  curl_url_set(url.get(), CURLUPART_URL, (base + std::string(kKandjiPath)).c_str(), 0);
  curl_url_set(url.get(), CURLUPART_QUERY, fmt::format("limit={}", limit).c_str(), 0);
  if (!name.empty()) {
    curl_url_set(url.get(), CURLUPART_QUERY, fmt::format("{}={}", name, value).c_str(),
                 CURLU_APPENDQUERY | CURLU_URLENCODE);
  }
  return url_part(url.get(), CURLUPART_URL).value_or(std::string());
}

}  // namespace

Result<std::string> normalise_kandji_url(std::string_view text) {
  const std::string input(trim(text));
  if (input.empty()) return config_error("the API URL is empty");
  CurlUrl url(curl_url());
  if (!url) return config_error("cannot parse the API URL");
  // No scheme means https (the Kandji web app shows the host alone).
  const auto parsed = curl_url_set(url.get(), CURLUPART_URL, input.c_str(), CURLU_DEFAULT_SCHEME);
  if (parsed == CURLUE_BAD_PORT_NUMBER) return config_error("the API URL has an invalid port");
  if (parsed == CURLUE_NO_HOST) return config_error("the API URL has no host name");
  if (parsed != CURLUE_OK) {
    return config_error(fmt::format("the API URL is malformed: {}", curl_url_strerror(parsed)));
  }
  const std::string scheme = lower(url_part(url.get(), CURLUPART_SCHEME).value_or(""));
  if (scheme != "https" && scheme != "http") return config_error("the API URL must use https");
  const std::string host = lower(url_part(url.get(), CURLUPART_HOST).value_or(""));
  if (host.empty()) return config_error("the API URL has no host name");
  const std::string path = url_part(url.get(), CURLUPART_PATH).value_or("/");
  const bool host_only =
      path.find_first_not_of('/') == std::string::npos && !url_part(url.get(), CURLUPART_USER) &&
      !url_part(url.get(), CURLUPART_QUERY) && !url_part(url.get(), CURLUPART_FRAGMENT);
  if (!host_only) {
    return config_error(fmt::format(
        "the API URL `{}` must be a host name only, like `example.api.kandji.io`", input));
  }
  if (!is_host_name(host)) {
    return config_error(fmt::format("the API URL has an invalid host name `{}`", host));
  }
  const auto port = url_part(url.get(), CURLUPART_PORT);
  // Plain http is kept only for loopback test servers; elsewhere it is upgraded, as Kandji's own
  // CLI does, so the token never crosses a network in clear text.
  const bool keep_http = scheme == "http" && grammar::ip::is_loopback_host(host);
  return fmt::format("{}://{}{}", keep_http ? "http" : "https", host,
                     port ? fmt::format(":{}", *port) : std::string());
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
  const auto limit = static_cast<std::size_t>(options.page_limit);
  HttpRequest request;
  request.headers = {{"Authorization", fmt::format("Bearer {}", config.token)},
                     {"Accept", "application/json"}};
  request.url = page_url(config.url, limit);
  request.max_body_bytes = options.max_page_bytes;

  Snapshot snapshot;
  std::unordered_map<std::string, std::size_t> by_id;
  std::int64_t offset = 0;
  std::optional<std::string> previous_cursor;
  FetchProgress report;
  for (int page_number = 1;; ++page_number) {
    if (page_number > options.max_pages) {
      return SyncError{
          SyncErrorKind::Protocol,
          fmt::format("more than {} pages; the listing does not end", options.max_pages)};
    }
    auto response =
        get_with_retry(transport, clock, request, options, deadline, state, config.token);
    snapshot.requests = state.requests;
    if (!response) {
      SyncError error = response.error();
      error.message = fmt::format("page {}: {}", page_number, error.message);
      return error;
    }
    auto page = kandji_mapper::map_page(response.value().body);
    if (!page) {
      SyncError error = page.error();
      error.message = fmt::format("page {}: {}", page_number, error.message);
      return error;
    }
    KandjiPage& data = page.value();
    // Spec kandji.md §2.6: with the tenant's hourly budget at 0, stop rather than spend more.
    const bool budget_spent = hourly_budget_spent(response.value());
    const auto stop_spent = [&] {
      return SyncError{SyncErrorKind::RateLimited,
                       fmt::format("page {}: the hourly request budget is spent "
                                   "(X-RateLimit-Remaining-Hour: 0) with pages left; a later "
                                   "sync tries again",
                                   page_number)};
    };
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
                         fmt::format("page {}: the cursor did not advance", page_number)};
      }
      previous_cursor = data.cursor;
      if (budget_spent) return stop_spent();
      request.url = page_url(config.url, limit, "cursor", *data.cursor);
      continue;
    }
    if (data.rows == 0) break;
    if (data.total && offset >= *data.total) break;
    const std::int64_t page_size = data.limit.value_or(options.page_limit);
    if (static_cast<std::int64_t>(data.rows) < page_size) break;
    if (budget_spent) return stop_spent();
    request.url = page_url(config.url, limit, "offset", std::to_string(offset));
  }
  return snapshot;
}

}  // namespace postern::sync
