#pragma once
// Kandji (Iru): the first posture provider. GET {base}/api/v1/prism/device_information,
// Bearer token, cursor pagination with offset fallback (spec kandji.md §1.3).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "postern/sync/provider.hpp"

namespace postern::sync {

inline constexpr std::string_view kKandjiMdmEnabled = "kandji:mdmEnabled";
inline constexpr std::string_view kKandjiAgentInstalled = "kandji:agentInstalled";
inline constexpr std::string_view kKandjiPath = "/api/v1/prism/device_information";

// Accepts `host`, `https://host`, `https://host/` (US, EU, Iru or any host) and returns
// `https://host`. `http://` is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost),
// where it is kept as is so tests can use a local server. Paths, queries and credentials in the
// URL are rejected.
Result<std::string> normalise_kandji_url(std::string_view url);

// One parsed response page.
struct KandjiPage {
  std::vector<ProviderDevice> devices;
  std::size_t rows = 0;  // data rows, including those without a serial
  std::size_t rows_without_serial = 0;
  std::optional<std::string> cursor;  // non-empty string cursor, when present
  std::optional<std::int64_t> total;
  std::optional<std::int64_t> offset;
  std::optional<std::int64_t> limit;
};

namespace kandji_mapper {
// Pure: a response body to provider devices. Unknown keys are ignored; both historical field sets
// are accepted; `agent_installed: null` maps to false. A body that is not an object with an array
// `data`, a non-string `cursor`, or a row without a string `device_id` is a Protocol error.
Result<KandjiPage> map_page(std::string_view body);
}  // namespace kandji_mapper

class KandjiProvider final : public Provider {
 public:
  [[nodiscard]] std::string id() const override { return "kandji"; }
  [[nodiscard]] std::string attribute_prefix() const override { return "kandji:"; }
  [[nodiscard]] std::vector<std::string> attribute_keys() const override;
  [[nodiscard]] Result<std::string> normalise_url(std::string_view url) const override;
  Result<Snapshot> fetch(HttpTransport& transport, Clock& clock, const ProviderConfig& config,
                         const FetchOptions& options,
                         const std::function<void(const FetchProgress&)>& progress) override;
};

}  // namespace postern::sync
