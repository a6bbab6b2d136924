#pragma once
// Shared by `postern check` and `postern filter`: read --policy and --tailnet, compile the engine,
// and name devices and addresses on the command line.

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy_loading.hpp"
#include "postern/engine/engine.hpp"

namespace postern::app {

struct LoadedEngine {
  LoadedPolicy policy;
  std::unique_ptr<engine::Engine> engine;
};

// Prints diagnostics (policy errors, unreadable files) to stderr prefixed with `command`; nullopt
// when the engine cannot be built (exit 2).
// With `db_path`, the store's attributes (synced kandji:*, API-set custom:*) are laid over the
// inventory's before compiling (issue 4 item 12), so a check right after a sync reflects it.
std::optional<LoadedEngine> load_engine(const std::string& command, const std::string& policy_path,
                                        const std::string& tailnet_path,
                                        const std::string& db_path = {});

// Lays the store at `db_path` over `inventory`; prints a located error to stderr and returns
// false when the store cannot be read. Shared by check, filter and validate.
bool overlay_store_attributes(const std::string& command, const std::string& db_path,
                              engine::Inventory& inventory);

// A query endpoint: one or more addresses (a user login names all their untagged devices).
struct Endpoint {
  std::vector<grammar::ip::Address> addresses;  // one per device, in the family asked for
  std::vector<std::string> labels;              // "alice-mbp (100.64.0.1)"
  std::vector<std::optional<engine::DeviceIndex>> devices;
};

// Device names of one inventory, indexed with the tiers of engine::find_devices (id/nodeId,
// address, FQDN, hostname, first label; names case-insensitive) for the batch path.
class DeviceNames {
 public:
  explicit DeviceNames(const engine::Inventory& inventory);
  [[nodiscard]] std::vector<std::size_t> find(const std::string& name) const;

 private:
  using Index = std::unordered_map<std::string, std::vector<std::size_t>>;
  Index ids_, addresses_, fqdns_, hostnames_, labels_;
};

// SRC: hostname, FQDN, first label, id, nodeId, IP, or user login. `v6` picks device addresses
// of that family. Empty addresses + `error` when it names nothing (or is ambiguous).
// `names` (optional) speeds up repeated lookups; without it engine::find_devices is used.
Endpoint resolve_endpoint(const engine::Snapshot& snapshot, const std::string& name, bool v6,
                          std::string& error, const DeviceNames* names = nullptr);

// DST `host:port` / `[v6]:port` split at the last colon.
bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port,
                     std::string& error);

// `tcp`, `udp`, `icmp`, `sctp`, a protocol name or a number.
std::optional<std::uint8_t> parse_query_proto(const std::string& text);

}  // namespace postern::app
