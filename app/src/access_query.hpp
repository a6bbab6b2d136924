#pragma once
// One access question as users ask it — SRC (a device, user login or IP) to DST `host:port` over
// a protocol, optionally with the source's attributes replaced — resolved against a snapshot and
// answered. Shared by `postern check` and the server's `POST /v1/check`, so both read names,
// ports and protocols the same way and give the same answer.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine_loading.hpp"
#include "postern/engine/engine.hpp"

namespace postern::app {

struct AccessQuery {
  Endpoint src;  // a user login names all their untagged devices
  Endpoint dst;  // exactly one address
  std::uint8_t proto = engine::kProtoTcp;
  std::uint16_t port = 0;
  std::optional<engine::AttrMap> src_attrs;  // replaces every source device's attributes
};

struct AccessQueryError {
  enum class Kind { Invalid, UnknownEndpoint } kind = Kind::Invalid;
  std::string message;
};

// Resolves `src` and `dst` ("host:port", "[v6]:port"); the source's addresses are taken in the
// destination's family, and ICMP to an IPv6 destination is ICMPv6.
std::optional<AccessQuery> resolve_access_query(const engine::Snapshot& snapshot,
                                                const std::string& src, const std::string& dst,
                                                std::uint8_t proto,
                                                std::optional<engine::AttrMap> src_attrs,
                                                AccessQueryError& error);

struct AccessAnswer {
  bool accept = true;                       // every source device is accepted
  std::vector<engine::Decision> decisions;  // one per source device, in query.src order
};

AccessAnswer answer_access_query(const engine::Snapshot& snapshot, const AccessQuery& query,
                                 bool explain);

}  // namespace postern::app
