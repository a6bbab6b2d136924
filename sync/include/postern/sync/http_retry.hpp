#pragma once
// Provider-independent request policy (spec kandji.md §3.3): per-request deadlines, retries with
// full-jitter backoff on transport errors, 5xx and 429 (honouring Retry-After, then
// RateLimit-Reset), and the mapping of final HTTP statuses to SyncError kinds.

#include <optional>
#include <random>
#include <string_view>

#include "postern/sync/http_transport.hpp"
#include "postern/sync/provider.hpp"

namespace postern::sync {

// Time to wait from a Retry-After value: delta-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or
// asctime, read by curl_getdate) relative to `now`; nullopt when absent or unparsable.
std::optional<Millis> parse_retry_after(std::string_view value, TimePoint now);

// The final status of an exchange as an error; nullopt for 2xx.
std::optional<SyncError> classify_status(int status, std::string_view what);

// The tenant's hourly request budget is gone (`X-RateLimit-Remaining-Hour: 0`): spend no more.
bool hourly_budget_spent(const HttpResponse& response);

struct RetryState {
  std::mt19937_64 rng;
  int requests = 0;
};

// GET with retries. Returns the 2xx response or the classified error. Stops at `deadline`
// (Transient "sync deadline exceeded"). `secret` is redacted from every message.
Result<HttpResponse> get_with_retry(HttpTransport& transport, Clock& clock, HttpRequest request,
                                    const FetchOptions& options, TimePoint deadline,
                                    RetryState& state, std::string_view secret);

}  // namespace postern::sync
