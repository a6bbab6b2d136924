// Endpoint parsing and access-query resolution (engine/include/postern/engine/query.hpp).
#include "postern/engine/query.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "postern/grammar/policy_ast.hpp"

namespace postern::engine {
namespace ip = grammar::ip;
namespace {

constexpr std::size_t kMaxListedMatches = 5;

QueryError invalid(std::string message, std::string help = {}) {
  return QueryError{QueryError::Kind::InvalidInput, std::move(message), std::move(help), {}};
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal without leading zeros ("0" itself is fine), at most `max`.
std::optional<std::uint32_t> parse_decimal(std::string_view text, std::uint32_t max) {
  if (!all_digits(text) || text.size() > 5 || (text.size() > 1 && text.front() == '0')) {
    return std::nullopt;
  }
  std::uint32_t value = 0;
  for (const char c : text) value = value * 10 + static_cast<std::uint32_t>(c - '0');
  if (value > max) return std::nullopt;
  return value;
}

// `fd7a::1:22` was most likely meant as address fd7a::1, port 22.
std::string bracket_hint(std::string_view text) {
  const auto colon = text.rfind(':');
  const auto host = text.substr(0, colon);
  if (colon != std::string_view::npos && ip::parse_address(host) &&
      all_digits(text.substr(colon + 1))) {
    return fmt::format("write `[{}]:{}`: an IPv6 address takes brackets before its port", host,
                       text.substr(colon + 1));
  }
  return "write an IPv6 destination as `[address]:port`, e.g. `[fd7a:115c:a1e0::1]:22`";
}

std::string device_label(const Device& device) {
  if (!device.name.empty()) return device.name;
  if (!device.hostname.empty()) return device.hostname;
  return device.id.empty() ? device.node_id : device.id;
}

QueryError ambiguous(const Snapshot& snapshot, std::string_view name,
                     std::span<const DeviceIndex> found) {
  std::vector<std::string> listed;
  for (std::size_t i = 0; i < std::min(found.size(), kMaxListedMatches); ++i) {
    const Device& d = snapshot.device(found[i]);
    listed.push_back(d.id.empty() ? device_label(d)
                                  : fmt::format("{} (id {})", device_label(d), d.id));
  }
  const std::string more = found.size() > kMaxListedMatches
                               ? fmt::format(" and {} more", found.size() - kMaxListedMatches)
                               : std::string();
  return QueryError{
      QueryError::Kind::AmbiguousName,
      fmt::format("`{}` names {} devices: {}{}", name, found.size(), fmt::join(listed, ", "), more),
      "use an id, nodeId, FQDN or address", std::vector<DeviceIndex>(found.begin(), found.end())};
}

void add_device(Endpoint& out, const Snapshot& snapshot, DeviceIndex index, bool v6) {
  const auto* pick = snapshot.names().endpoint_address(index, v6);
  if (pick == nullptr) return;  // an address-less device cannot send or receive
  out.addresses.push_back(*pick);
  // "hostname (address)", built in place: this runs for every check the server answers.
  const auto& hostname = snapshot.device(index).hostname;
  auto& label = out.labels.emplace_back();
  label.reserve(hostname.size() + 48);  // " (", the longest IPv6 text, ")"
  label += hostname;
  label += " (";
  ip::append_to(label, *pick);
  label += ')';
  out.devices.emplace_back(index);
}

// `tag:web:443` reads as host `tag`: the prefixes of the policy's selectors, which name sets.
bool names_a_selector(std::string_view prefix) {
  for (const std::string_view kind : {"tag", "group", "autogroup", "ipset", "user"}) {
    if (prefix == kind) return true;
  }
  return false;
}

}  // namespace

const grammar::ip::Address* endpoint_address(const Device& device, bool v6) {
  const auto& addresses = device.addresses;
  const auto same_family =
      std::find_if(addresses.begin(), addresses.end(), [&](const auto& a) { return a.v6 == v6; });
  if (same_family != addresses.end()) return &*same_family;
  return addresses.empty() ? nullptr : &addresses.front();
}

Resolved<std::uint16_t> parse_port(std::string_view text) {
  if (const auto value = parse_decimal(text, 65535)) return static_cast<std::uint16_t>(*value);
  return invalid(fmt::format("invalid port `{}`", text),
                 "a port is a decimal number 0-65535 without leading zeros (0 for ICMP)");
}

Resolved<HostPort> split_host_port(std::string_view text) {
  const auto no_port = [&] {
    return invalid(fmt::format("`{}` has no port", text),
                   "write `host:port` or `[v6]:port` (port 0 for ICMP)");
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return invalid(fmt::format("`{}` has no closing `]`", text));
    out.host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return no_port();
    if (rest.front() != ':') {
      return invalid(fmt::format("`{}`: expected `:port` after `]`", text), "write `[v6]:port`");
    }
    port_text = rest.substr(1);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return no_port();
    if (text.find(':', colon + 1) != std::string_view::npos) {
      if (names_a_selector(text.substr(0, colon))) {
        return invalid(
            fmt::format("`{}`: a check's destination is one device or address, not a `{}:` "
                        "selector",
                        text, text.substr(0, colon)),
            "name a device that carries it (e.g. `web-1:443`) or its address; a policy's `tests` "
            "take selectors");
      }
      return invalid(fmt::format("`{}` is an IPv6 address without brackets", text),
                     bracket_hint(text));
    }
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty()) return no_port();
  if (out.host.empty()) return invalid(fmt::format("`{}` has no host", text));
  const auto port = parse_port(port_text);
  if (!port) {
    auto error = port.error();
    error.message += fmt::format(" in `{}`", text);
    return error;
  }
  out.port = port.value();
  return out;
}

Resolved<std::uint8_t> parse_query_proto(std::string_view text) {
  if (const auto proto = grammar::policy::parse_proto(text)) return *proto;
  return invalid(fmt::format("unknown protocol `{}`", text),
                 "use a name such as `tcp`, `udp`, `icmp`, `sctp` or a number 0-255");
}

Resolved<std::uint8_t> query_proto_number(std::int64_t number) {
  if (number >= 0 && number <= 255) return static_cast<std::uint8_t>(number);
  return invalid(fmt::format("protocol number {} is out of range", number),
                 "IP protocol numbers are 0-255");
}

Resolved<Endpoint> resolve_endpoint(const Snapshot& snapshot, std::string_view name, bool v6) {
  const DeviceNameIndex& names = snapshot.names();
  const auto found = names.find(name);
  if (found.size() > 1) return ambiguous(snapshot, name, found);
  Endpoint out;
  if (found.size() == 1) {
    add_device(out, snapshot, found[0], v6);
  } else if (const auto address = ip::parse_address(name)) {
    out.addresses.push_back(*address);
    out.labels.push_back(ip::to_string(*address));
    out.devices.emplace_back(std::nullopt);
  } else if (name.find('@') != std::string_view::npos) {
    for (const auto index : names.user_devices(name)) add_device(out, snapshot, index, v6);
    if (out.addresses.empty()) {
      return QueryError{QueryError::Kind::UnknownName,
                        fmt::format("user `{}` has no untagged devices", name),
                        "name one of their devices, or a tagged device by its name",
                        {}};
    }
  }
  if (out.addresses.empty()) {
    return QueryError{QueryError::Kind::UnknownName,
                      fmt::format("unknown device or address `{}`", name),
                      "name a device by hostname, FQDN, id, nodeId or address, or a user login",
                      {}};
  }
  return out;
}

Resolved<AccessQuery> resolve_access_query(const Snapshot& snapshot, std::string_view src,
                                           std::string_view dst, std::uint8_t proto,
                                           std::optional<AttrMap> src_attrs) {
  auto host_port = split_host_port(dst);
  if (!host_port) return host_port.error();
  // Only an IPv6 literal has a colon; the rest are not parsed twice.
  const auto host = host_port.value().host;
  const bool v6_literal = host.find(':') != std::string_view::npos && ip::parse_address(host);
  auto dst_endpoint = resolve_endpoint(snapshot, host, v6_literal);
  if (!dst_endpoint) return dst_endpoint.error();
  AccessQuery query;
  query.dst = std::move(dst_endpoint).value();
  const bool v6 = query.dst.addresses.front().v6;
  auto src_endpoint = resolve_endpoint(snapshot, src, v6);
  if (!src_endpoint) return src_endpoint.error();
  query.src = std::move(src_endpoint).value();
  query.port = host_port.value().port;
  query.proto = proto == kProtoIcmp && v6 ? kProtoIcmpV6 : proto;
  query.src_attrs = std::move(src_attrs);
  return query;
}

AccessAnswer answer_access_query(const Snapshot& snapshot, const AccessQuery& query, bool explain) {
  AccessAnswer answer;
  answer.decisions.reserve(query.src.addresses.size());
  for (const auto& address : query.src.addresses) {
    Request request;
    request.src = address;
    request.dst = query.dst.addresses.front();
    request.proto = query.proto;
    request.port = query.port;
    request.src_attrs = query.src_attrs ? &*query.src_attrs : nullptr;
    request.explain = explain;
    answer.decisions.push_back(snapshot.check(request));
    answer.accept = answer.accept && answer.decisions.back().allow;
  }
  return answer;
}

}  // namespace postern::engine
