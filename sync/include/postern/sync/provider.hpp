#pragma once
// A posture provider only fetches and maps: it turns the vendor's device list into
// ProviderDevices. Scheduling, matching, diffing, writes, audit and status are the SyncEngine's.
// Adding Jamf, Intune, ... means one new file implementing Provider plus a line in make_provider.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/sync/clock.hpp"
#include "postern/sync/http_transport.hpp"
#include "postern/sync/result.hpp"

namespace postern::sync {

using engine::AttrValue;

// One device as the provider reports it.
struct ProviderDevice {
  std::string provider_id;                      // the vendor's stable id (Kandji device_id)
  std::vector<std::string> serials;             // as reported (normalised by the matcher)
  std::map<std::string, AttrValue> attributes;  // full keys, e.g. "kandji:mdmEnabled"
  std::optional<std::int64_t> last_seen;        // Unix seconds; picks the freshest duplicate
  bool managed = false;  // under the provider's management (Kandji: mdm_enabled); breaks a tie
};

// What an integration was configured with. The token is held in memory only while syncing.
struct ProviderConfig {
  std::string url;  // normalised base URL
  std::string token;
};

// Client behaviour knobs (spec §3.3); tests shrink them.
struct FetchOptions {
  Millis connect_timeout{10'000};
  Millis request_timeout{60'000};
  Millis sync_deadline{600'000};
  int max_attempts = 4;        // per request, on transport errors, 5xx and 429
  Millis backoff_base{1'000};  // full jitter: uniform in [0, min(cap, base * 2^attempt)]
  Millis backoff_cap{30'000};
  Millis max_retry_wait{60'000};  // a longer Retry-After gives up with RateLimited
  int max_pages = 500;
  int page_limit = 300;
  // One page's answer, decoded. 300 Kandji devices take about 1 MB; the cap keeps a wrong URL or
  // a hostile server (a gzip bomb) from exhausting memory.
  std::size_t max_page_bytes = std::size_t{32} << 20;
  std::uint64_t jitter_seed = 0;  // 0: seeded from the clock
};

struct FetchProgress {
  int pages = 0;
  std::size_t devices = 0;
};

struct Snapshot {
  std::vector<ProviderDevice> devices;  // de-duplicated by provider_id
  std::size_t records_without_serial = 0;
  int pages = 0;
  int requests = 0;  // including retries
};

class Provider {
 public:
  virtual ~Provider() = default;
  [[nodiscard]] virtual std::string id() const = 0;                // "kandji"
  [[nodiscard]] virtual std::string attribute_prefix() const = 0;  // "kandji:"
  [[nodiscard]] virtual std::vector<std::string> attribute_keys() const = 0;
  // Check and normalise a configured URL (Config error when unusable).
  [[nodiscard]] virtual Result<std::string> normalise_url(std::string_view url) const = 0;
  // Fetch the complete device list. Any failure fails the whole fetch (all-or-nothing).
  virtual Result<Snapshot> fetch(HttpTransport& transport, Clock& clock,
                                 const ProviderConfig& config, const FetchOptions& options,
                                 const std::function<void(const FetchProgress&)>& progress) = 0;
};

// The provider for an id ("kandji"), or nullptr when unknown.
std::unique_ptr<Provider> make_provider(std::string_view id);
// Ids make_provider knows, for --help and error messages.
std::vector<std::string> provider_ids();

}  // namespace postern::sync
