#pragma once
// Shared by `postern check` and `postern filter`: read --policy and --tailnet, compile the engine,
// and name devices and addresses on the command line.

#include <memory>
#include <optional>
#include <string>
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
std::optional<LoadedEngine> load_engine(const std::string& command, const std::string& policy_path,
                                        const std::string& tailnet_path);

// A query endpoint: one or more addresses (a user login names all their untagged devices).
struct Endpoint {
  std::vector<grammar::ip::Address> addresses;  // one per device, in the family asked for
  std::vector<std::string> labels;              // "alice-mbp (100.64.0.1)"
  std::vector<std::optional<engine::DeviceIndex>> devices;
};

// SRC: hostname, FQDN, first label, id, nodeId, IP, or user login. `v6` picks device addresses
// of that family. Empty addresses + `error` when it names nothing (or is ambiguous).
Endpoint resolve_endpoint(const engine::Snapshot& snapshot, const std::string& name, bool v6,
                          std::string& error);

// DST `host:port` / `[v6]:port` split at the last colon.
bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port,
                     std::string& error);

// `tcp`, `udp`, `icmp`, `sctp`, a protocol name or a number.
std::optional<std::uint8_t> parse_query_proto(const std::string& text);

}  // namespace postern::app
