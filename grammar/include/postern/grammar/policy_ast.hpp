#pragma once
// Typed AST of a policy file (spec policy-language.md §2-§6). Produced by policy::lower from a
// json::Value; every node keeps the span of the text it came from so later stages can point at it.
// Names are not resolved here (that is engine::validate / engine::compile); shapes are.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "postern/grammar/diag.hpp"
#include "postern/grammar/ip.hpp"
#include "postern/grammar/json_value.hpp"
#include "postern/grammar/posture.hpp"

namespace postern::grammar::policy {

// A string from the policy with where it was.
struct Text {
  std::string value;
  Span span;
};

// What a src/dst selector string denotes, decided by its spelling (spec §3.2, §3.3).
enum class SelectorKind : std::uint8_t {
  Wildcard,       // *
  User,           // alice@example.com, alice@github (name = login)
  UserDomain,     // user:*@example.com (name = domain)
  Group,          // group:eng (name = "group:eng")
  Tag,            // tag:web (name = "tag:web")
  Autogroup,      // autogroup:member ... (name = "autogroup:member")
  Host,           // bare alias from `hosts` or `host:alias` (name = alias without prefix)
  Address,        // 100.64.0.1, fd7a::1, 10.0.0.0/8 (prefix set; a bare address is a host prefix)
  IpSet,          // ipset:name (name = "ipset:name")
  Service,        // svc:name (dst only)
};

struct Selector {
  SelectorKind kind = SelectorKind::Wildcard;
  std::string name;
  ip::Prefix prefix;  // SelectorKind::Address only
  Text source;        // the selector text as written (without any port part)
};

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// An ACL destination `selector:ports` after splitting at the last colon.
struct Destination {
  Selector selector;
  std::vector<PortRange> ports;  // `*` = one range 0-65535
  Text source;                   // the whole entry as written
};

// One IP protocol number, or none = the default set (TCP, UDP, ICMPv4, ICMPv6).
struct Proto {
  std::optional<std::uint8_t> number;
  Text source;  // empty when absent
};

struct AclRule {
  std::size_t index = 0;  // position in `acls`
  Span span;              // the whole rule object
  Text action;            // "accept"
  std::vector<Selector> src;
  std::vector<Destination> dst;
  Proto proto;
  std::optional<std::vector<Text>> src_posture;  // nullopt = key absent (default applies)
};

// One grant `ip` item: `*`, `443`, `80-443`, `tcp:443`, `icmp:*`, `6:22`.
struct IpSpec {
  Proto proto;                   // number absent = default protocol set
  std::vector<PortRange> ports;
  Text source;
};

struct Grant {
  std::size_t index = 0;  // position in `grants`
  Span span;
  std::vector<Selector> src;
  std::vector<Selector> dst;
  std::vector<IpSpec> ip;
  std::vector<Text> app_capabilities;  // keys of `app` (values kept opaque)
  std::optional<std::vector<Text>> src_posture;
  std::vector<Text> via;
};

struct Posture {
  Text name;  // "posture:trusted"
  Span span;  // the list
  std::vector<posture::Condition> conditions;
};

using AttrLiteral = std::variant<std::string, double, bool>;

struct TestCase {
  std::size_t index = 0;
  Span span;
  Text src;
  Proto proto;
  std::map<std::string, AttrLiteral> src_posture_attrs;
  bool has_src_posture_attrs = false;
  std::vector<Text> accept;  // "host:port" items as written
  std::vector<Text> deny;
};

struct IpSetOp {
  bool add = true;
  Text target;  // IP, CIDR, range, host:x, autogroup:internet, ipset:y
};

struct SshRule {
  std::size_t index = 0;
  Span span;
  Text action;  // accept | check
  std::vector<Selector> src;
  std::vector<Text> dst;
  std::vector<Text> users;
  std::optional<std::vector<Text>> src_posture;
  std::optional<Text> check_period;
  std::vector<Text> accept_env;
};

struct Ast {
  bool has_acls = false;    // key present (even if empty)
  bool has_grants = false;  // key present (even if empty)
  std::vector<AclRule> acls;
  std::vector<Grant> grants;
  std::map<std::string, std::vector<Text>> groups;      // "group:eng" -> members
  std::map<std::string, Span> group_spans;
  std::map<std::string, std::vector<Text>> tag_owners;  // "tag:web" -> owners
  std::map<std::string, Span> tag_spans;
  std::map<std::string, Text> hosts;                    // alias -> "IP" or "CIDR"
  std::map<std::string, ip::Prefix> host_prefixes;      // alias -> parsed prefix
  std::map<std::string, std::vector<IpSetOp>> ipsets;   // "ipset:x" -> ops in order
  std::map<std::string, Span> ipset_spans;
  std::map<std::string, Posture> postures;              // "posture:x" -> definition
  std::optional<std::vector<Text>> default_src_posture;
  std::vector<TestCase> tests;
  std::vector<SshRule> ssh;
  // Sections that are shape-checked but not used for access decisions.
  std::optional<json::Value> ssh_tests, node_attrs, auto_approvers, derp_map, attr_config;
};

// Lower a parsed HuJSON document into the AST, collecting every shape error (capped at 50),
// with Tailscale's key rules: case-insensitive keys, legacy aliases, unknown and duplicate keys
// rejected. Posture strings go through posture::parse.
Parsed<Ast> lower(const SourceFile& file, const json::Value& root);

}  // namespace postern::grammar::policy
