// Selectors, ACL destinations (`selector:ports`), port specs, protocols and grant `ip` items
// (spec policy-language.md §3.2-§3.5, §4), with Tailscale's error texts where the spec quotes them.
#include <algorithm>
#include <array>
#include <charconv>
#include <utility>
#include <variant>

#include "policy_lower_detail.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::grammar::policy {
namespace {

struct ProtoName {
  std::string_view name;
  std::uint8_t number;
};

// The names checks send most come first: every check's protocol is looked up in this order.
constexpr std::array kProtoNames = {
    ProtoName{"tcp", 6},    ProtoName{"udp", 17}, ProtoName{"icmp", 1},
    ProtoName{"igmp", 2},   ProtoName{"ipv4", 4}, ProtoName{"ip-in-ip", 4},
    ProtoName{"egp", 8},    ProtoName{"igp", 9},  ProtoName{"gre", 47},
    ProtoName{"esp", 50},   ProtoName{"ah", 51},  ProtoName{"ipv6-icmp", 58},
    ProtoName{"sctp", 132}, ProtoName{"fc", 133},
};

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A port number 0-65535 written in decimal (leading zeros allowed, as Go's ParseUint does).
std::optional<std::uint16_t> parse_port_number(std::string_view text) {
  if (!all_digits(text)) return std::nullopt;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value > 65535U) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

struct PortError {
  std::string message;
  std::size_t offset = 0;  // inside the spec
  std::size_t length = 0;
  std::string help;
};

// Parses a port spec, or says what is wrong with the first bad item.
std::variant<std::vector<PortRange>, PortError> parse_port_spec(std::string_view text) {
  std::vector<PortRange> ranges;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const std::string quoted = "port range \"" + std::string(item) + "\": ";
    std::string help;
    if (item.find(' ') != std::string_view::npos || item.find('\t') != std::string_view::npos) {
      help = "port specs may not contain spaces: write `22,80`, not `22, 80`";
    }
    if (item == "*") {
      ranges.push_back(PortRange{0, 65535});
    } else {
      const auto dash = item.find('-');
      const auto first_text = item.substr(0, dash);
      const auto first = parse_port_number(first_text);
      if (!first) {
        if (help.empty()) {
          help = all_digits(first_text) ? "ports are numbers from 1 to 65535"
                                        : "ports are numbers (`22`), ranges (`8000-8100`), lists "
                                          "(`22,80`) or `*`";
        }
        return PortError{quoted + "invalid first integer", start, item.size(), help};
      }
      if (*first == 0) {
        return PortError{quoted + "first port must be >0, or use '*' for wildcard", start,
                         item.size(), help};
      }
      std::uint16_t last = *first;
      if (dash != std::string_view::npos) {
        const auto last_text = item.substr(dash + 1);
        const auto parsed = parse_port_number(last_text);
        if (!parsed) {
          if (help.empty()) help = "ports are numbers from 1 to 65535";
          return PortError{quoted + "invalid last integer", start, item.size(), help};
        }
        last = *parsed;
        if (last < *first) {
          return PortError{quoted + "first port must not be greater than last port", start,
                           item.size(), "write the range low-high, e.g. `80-90`"};
        }
      }
      ranges.push_back(PortRange{*first, last});
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ranges;
}

std::string classify_error(std::string_view text, std::optional<Selector>& result, Span span) {
  auto make = [&](SelectorKind kind, std::string name) {
    Selector s;
    s.kind = kind;
    s.name = std::move(name);
    s.source = Text{std::string(text), span};
    result = std::move(s);
    return std::string{};
  };
  auto prefixed = [&](std::string_view prefix, SelectorKind kind, bool keep_prefix) -> std::string {
    if (text.size() == prefix.size()) {
      return "`" + std::string(text) + "` is missing a name after `" + std::string(prefix) + "`";
    }
    return make(kind, std::string(keep_prefix ? text : text.substr(prefix.size())));
  };
  if (text.empty()) return "empty selector";
  if (text == "*") return make(SelectorKind::Wildcard, "*");
  if (text.starts_with("group:")) return prefixed("group:", SelectorKind::Group, true);
  if (text.starts_with("tag:")) return prefixed("tag:", SelectorKind::Tag, true);
  if (text.starts_with("autogroup:")) return prefixed("autogroup:", SelectorKind::Autogroup, true);
  if (text.starts_with("ipset:")) return prefixed("ipset:", SelectorKind::IpSet, true);
  if (text.starts_with("svc:")) return prefixed("svc:", SelectorKind::Service, true);
  if (text.starts_with("host:")) return prefixed("host:", SelectorKind::Host, false);
  if (text.starts_with("user:")) {
    const auto rest = text.substr(5);
    if (rest.starts_with("*@") && rest.size() > 2 &&
        rest.substr(2).find_first_of("*@ ") == std::string_view::npos) {
      return make(SelectorKind::UserDomain, std::string(rest.substr(2)));
    }
    return "invalid selector `" + std::string(text) + "`: only `user:*@<domain>` is supported";
  }
  if (text.find('@') != std::string_view::npos) {
    if (text.find_first_of(" *:") != std::string_view::npos || text.front() == '@') {
      return "invalid user `" + std::string(text) + "`";
    }
    return make(SelectorKind::User, std::string(text));
  }
  if (auto prefix = ip::parse_prefix(text)) {
    auto r = make(SelectorKind::Address, std::string(text));
    result->prefix = *prefix;
    return r;
  }
  if (ip::parse_range(text)) {
    return "IP range `" + std::string(text) + "` is only allowed inside `ipsets`";
  }
  if (text.find_first_of(":/") != std::string_view::npos ||
      text.find_first_not_of("0123456789.") == std::string_view::npos) {
    return "\"" + std::string(text) + "\": invalid address";
  }
  if (text.find_first_of(" \t,[]*") != std::string_view::npos) {
    return "invalid selector `" + std::string(text) + "`";
  }
  return make(SelectorKind::Host, std::string(text));
}

}  // namespace

// Every check request names its protocol: compared case-insensitively without a lowered copy.
std::optional<std::uint8_t> parse_proto(std::string_view text) {
  for (const auto& entry : kProtoNames) {
    if (grammar::ascii_iequals(entry.name, text)) return entry.number;
  }
  if (!all_digits(text) || (text.size() > 1 && text.front() == '0') || text.size() > 3) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > 255U) return std::nullopt;
  return static_cast<std::uint8_t>(value);
}

bool proto_has_ports(std::uint8_t number) { return number == 6 || number == 17 || number == 132; }

std::optional<Selector> classify_selector(std::string_view text, Span span) {
  std::optional<Selector> result;
  classify_error(text, result, span);
  return result;
}

std::optional<std::vector<PortRange>> parse_ports(std::string_view text) {
  auto parsed = parse_port_spec(text);
  if (auto* ranges = std::get_if<std::vector<PortRange>>(&parsed)) return std::move(*ranges);
  return std::nullopt;
}

namespace detail {

bool is_wildcard_ports(const std::vector<PortRange>& ports) {
  return std::all_of(ports.begin(), ports.end(),
                     [](const PortRange& r) { return r.first == 0 && r.last == 65535; });
}

std::optional<Selector> lower_selector(Collector& out, const StrRef& ref) {
  std::optional<Selector> result;
  auto message = classify_error(ref.text, result, ref.whole());
  if (!result) {
    out.error(DiagCode::S209, ref.whole(), std::move(message),
              "selectors are `*`, users, `group:`, `tag:`, `autogroup:`, host aliases, IPs, "
              "CIDRs or `ipset:` names");
  }
  return result;
}

std::optional<std::vector<Selector>> lower_selector_list(Collector& out, const json::Value& value,
                                                         std::string_view where) {
  if (!expect_kind(out, value, json::Kind::Array, where)) return std::nullopt;
  std::vector<Selector> selectors;
  for (std::size_t i = 0; i < value.items.size(); ++i) {
    const auto& item = value.items[i];
    if (!expect_kind(out, item, json::Kind::String, index_path(where, i))) continue;
    if (auto selector = lower_selector(out, StrRef::of(item))) {
      selectors.push_back(std::move(*selector));
    }
  }
  return selectors;
}

std::optional<std::vector<PortRange>> lower_ports(Collector& out, const StrRef& ref,
                                                  std::string_view prefix) {
  auto parsed = parse_port_spec(ref.text);
  if (auto* error = std::get_if<PortError>(&parsed)) {
    out.error(DiagCode::S206, ref.sub(error->offset, error->length),
              std::string(prefix) + error->message, error->help);
    return std::nullopt;
  }
  return std::get<std::vector<PortRange>>(std::move(parsed));
}

std::optional<Destination> lower_destination(Collector& out, const json::Value& value) {
  const auto ref = StrRef::of(value);
  const std::string_view text = ref.text;
  const std::string prefix = "dst=\"" + value.text + "\": ";
  const auto colon = text.rfind(':');
  const auto close = text.starts_with("[") ? text.find(']') : std::string_view::npos;
  if (colon == std::string_view::npos || (close != std::string_view::npos && colon < close)) {
    out.error(DiagCode::S206, ref.whole(), prefix + "missing port",
              "write destinations as `selector:ports`, e.g. `tag:web:443` or `tag:web:*`");
    return std::nullopt;
  }
  auto ports = lower_ports(out, ref.slice(colon + 1), prefix);
  if (!ports) return std::nullopt;
  auto selector_ref = ref.slice(0, colon);
  if (text.starts_with("[")) {
    // `[v6]:ports` or `[v6]/len:ports`: brackets are only for IPv6 literals.
    const auto inner_end = text.find(']');
    const auto inner = text.substr(1, inner_end == std::string_view::npos ? 0 : inner_end - 1);
    const auto after = inner_end == std::string_view::npos
                           ? std::string_view{}
                           : text.substr(inner_end + 1, colon - inner_end - 1);
    const auto address = ip::parse_address(inner);
    if (inner_end == std::string_view::npos || !address || !address->v6 ||
        (!after.empty() && !after.starts_with("/"))) {
      out.error(DiagCode::S209, selector_ref.whole(),
                prefix + "brackets are only allowed around an IPv6 address",
                "write `[fd7a:115c:a1e0::1]:22`; IPv4 addresses and names need no brackets");
      return std::nullopt;
    }
    const std::string unbracketed = std::string(inner) + std::string(after);
    auto prefix_value = ip::parse_prefix(unbracketed);
    if (!prefix_value) {
      out.error(DiagCode::S209, selector_ref.whole(), prefix + "invalid IPv6 prefix");
      return std::nullopt;
    }
    Selector selector;
    selector.kind = SelectorKind::Address;
    selector.name = unbracketed;
    selector.prefix = *prefix_value;
    selector.source = Text{std::string(selector_ref.text), selector_ref.whole()};
    return Destination{std::move(selector), std::move(*ports), Text{value.text, value.span}};
  }
  auto selector = lower_selector(out, selector_ref);
  if (!selector) return std::nullopt;
  return Destination{std::move(*selector), std::move(*ports), Text{value.text, value.span}};
}

std::optional<Proto> lower_proto(Collector& out, const json::Value& value, std::string_view where) {
  if (!expect_kind(out, value, json::Kind::String, where)) return std::nullopt;
  const auto number = parse_proto(value.text);
  if (!number) {
    out.error(DiagCode::S207, value.span, "invalid protocol `" + value.text + "`",
              "use a name (`tcp`, `udp`, `icmp`, `sctp`, `gre`, `esp`, ...) or an IANA number "
              "0-255 without leading zeros");
    return std::nullopt;
  }
  return Proto{*number, Text{value.text, value.span}};
}

std::optional<IpSpec> lower_ip_spec(Collector& out, const json::Value& value) {
  const auto ref = StrRef::of(value);
  IpSpec spec;
  spec.source = Text{value.text, value.span};
  const auto colon = ref.text.find(':');
  auto ports_ref = ref;
  if (colon != std::string_view::npos) {
    const auto proto_ref = ref.slice(0, colon);
    const auto number = parse_proto(proto_ref.text);
    if (!number) {
      out.error(DiagCode::S207, proto_ref.whole(),
                "invalid protocol `" + std::string(proto_ref.text) + "`",
                "grant `ip` items are `*`, `<ports>`, `<proto>:<ports>` or `<proto>:*`");
      return std::nullopt;
    }
    spec.proto = Proto{*number, Text{std::string(proto_ref.text), proto_ref.whole()}};
    ports_ref = ref.slice(colon + 1);
  }
  auto ports = lower_ports(out, ports_ref, "");
  if (!ports) return std::nullopt;
  if (spec.proto.number && !proto_has_ports(*spec.proto.number) && !is_wildcard_ports(*ports)) {
    out.error(DiagCode::S208, ports_ref.whole(), "protocol does not support specific ports",
              "only tcp, udp and sctp have ports; write `" + std::string(spec.proto.source.value) +
                  ":*`");
    return std::nullopt;
  }
  spec.ports = std::move(*ports);
  return spec;
}

}  // namespace detail
}  // namespace postern::grammar::policy
