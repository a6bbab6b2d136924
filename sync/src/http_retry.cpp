#include "postern/sync/http_retry.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "postern/sync/redact.hpp"

namespace postern::sync {
namespace {

constexpr Millis kWaitStep{1000};

std::optional<std::int64_t> parse_int(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

Millis backoff(const FetchOptions& options, int attempt, std::mt19937_64& rng) {
  const auto shift = std::min(attempt, 20);
  const auto ceiling = std::min<Millis::rep>(
      options.backoff_cap.count(), options.backoff_base.count() * (Millis::rep{1} << shift));
  if (ceiling <= 0) return Millis{0};
  std::uniform_int_distribution<Millis::rep> dist(0, ceiling);
  return Millis{dist(rng)};
}

}  // namespace

std::optional<Millis> parse_retry_after(std::string_view value, TimePoint now) {
  if (value.empty()) return std::nullopt;
  if (const auto seconds = parse_int(value)) return Millis{*seconds * 1000};
  // An HTTP-date in any of the three forms RFC 9110 §5.6.7 asks recipients to accept.
  const std::string text(value);
  const auto when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const TimePoint at = from_unix(static_cast<std::int64_t>(when));
  if (at <= now) return Millis{0};
  return std::chrono::duration_cast<Millis>(at - now);
}

bool hourly_budget_spent(const HttpResponse& response) {
  return response.header("x-ratelimit-remaining-hour") == "0";
}

std::optional<SyncError> classify_status(int status, std::string_view what) {
  const std::string prefix = fmt::format("{} returned HTTP {}", what, status);
  if (status >= 200 && status < 300) return std::nullopt;
  if (status == 401 || status == 403) {
    return SyncError{SyncErrorKind::Auth,
                     prefix + (status == 401 ? ": the API token was refused (revoked or wrong)"
                                             : ": the API token lacks the required permission"),
                     status};
  }
  if (status == 404) {
    return SyncError{SyncErrorKind::Config, prefix + ": check the API URL (tenant and region)",
                     status};
  }
  if (status == 429)
    return SyncError{SyncErrorKind::RateLimited, prefix + ": rate limited", status};
  if (status == 408 || status >= 500) return SyncError{SyncErrorKind::Transient, prefix, status};
  if (status >= 300 && status < 400) {
    return SyncError{SyncErrorKind::Config, prefix + ": redirected, check the API URL", status};
  }
  return SyncError{SyncErrorKind::Protocol, prefix + ": the request was rejected", status};
}

Result<HttpResponse> get_with_retry(HttpTransport& transport, Clock& clock, HttpRequest request,
                                    const FetchOptions& options, TimePoint deadline,
                                    RetryState& state, std::string_view secret) {
  const int attempts = std::max(1, options.max_attempts);
  SyncError last{SyncErrorKind::Transient, "no request was made"};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const auto remaining = std::chrono::duration_cast<Millis>(deadline - clock.now());
    if (remaining.count() <= 0) {
      return SyncError{SyncErrorKind::Transient, "sync deadline exceeded", last.http_status};
    }
    if (transport.cancelled()) return transport_cancelled();
    request.timeout = std::min(options.request_timeout, remaining);
    request.connect_timeout = std::min(options.connect_timeout, request.timeout);
    ++state.requests;
    auto result = transport.get(request);
    Millis wait{0};
    if (!result) {
      last = result.error();
      last.message = redact(last.message, secret);
      if (last.kind != SyncErrorKind::Transient) return last;
      wait = backoff(options, attempt, state.rng);
    } else {
      const HttpResponse& response = result.value();
      auto error = classify_status(response.status, "the provider");
      if (!error) return std::move(result.value());
      last = *error;
      if (last.kind == SyncErrorKind::RateLimited) {
        if (hourly_budget_spent(response)) {
          last.message += " (hourly request budget exhausted)";
          return last;
        }
        auto hinted = parse_retry_after(response.header("retry-after"), clock.now());
        if (!hinted) {
          if (const auto reset = parse_int(response.header("ratelimit-reset"))) {
            hinted = Millis{*reset * 1000};
          }
        }
        wait = hinted ? *hinted : backoff(options, attempt, state.rng);
        if (wait > options.max_retry_wait) {
          last.message += fmt::format(" (asked to wait {} s)", wait.count() / 1000);
          return last;
        }
      } else if (last.kind == SyncErrorKind::Transient) {
        wait = backoff(options, attempt, state.rng);
      } else {
        return last;  // 4xx other than 408/429: retrying cannot help
      }
    }
    if (attempt + 1 == attempts) break;
    if (clock.now() + wait >= deadline) {
      return SyncError{SyncErrorKind::Transient,
                       "sync deadline exceeded while retrying: " + last.message, last.http_status};
    }
    // In steps, so that a cancel ends the wait too.
    for (Millis left = wait; left.count() > 0 && !transport.cancelled(); left -= kWaitStep) {
      clock.sleep_for(std::min(left, kWaitStep));
    }
  }
  last.message += fmt::format(" (after {} attempts)", attempts);
  return last;
}

}  // namespace postern::sync
