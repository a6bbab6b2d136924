#pragma once
// Typed AST of a policy file (spec policy-language.md §2-§6). Produced by policy::lower from a
// json::Value; every node keeps the span of the text it came from so later stages can point at it.
// Names are not resolved here (that is engine::validate / engine::compile); shapes are.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
  Wildcard,    // *
  User,        // alice@example.com, alice@github (name = login)
  UserDomain,  // user:*@example.com (name = domain)
  Group,       // group:eng (name = "group:eng")
  Tag,         // tag:web (name = "tag:web")
  Autogroup,   // autogroup:member ... (name = "autogroup:member")
  Host,        // bare alias from `hosts` or `host:alias` (name = alias without prefix)
  Address,     // 100.64.0.1, fd7a::1, 10.0.0.0/8 (prefix set; a bare address is a host prefix)
  IpSet,       // ipset:name (name = "ipset:name")
  Service,     // svc:name (dst only)
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
  Proto proto;  // number absent = default protocol set
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
  std::size_t ip_entries = 0;  // items written in `ip`, including ones that failed to lower
};

struct Posture {
  Text name;  // "posture:trusted"
  Span span;  // the list
  std::vector<posture::Condition> conditions;
  std::size_t entries = 0;  // list length as written (conditions that failed to parse are left out)
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
  // Session recording: the recorder nodes' tags, and whether a session without a recorder is
  // refused. Validated; access answers do not depend on them.
  std::vector<Text> recorder;
  bool enforce_recorder = false;
  bool has_users = false;  // `users` key present (validation reports `users must be specified`)
};

// One `sshTests` entry (spec §6.5): may `src` open SSH to each of `dst` as each listed login?
struct SshTest {
  std::size_t index = 0;
  Span span;
  Text src;
  std::vector<Text> dst;     // tags, users, host aliases or IPv4 addresses, as written
  std::vector<Text> accept;  // logins that must be accepted without a check
  std::vector<Text> check;   // logins that must need a check (`check` rule)
  std::vector<Text> deny;    // logins that must be refused
  std::map<std::string, AttrLiteral> src_posture_attrs;
  bool has_src_posture_attrs = false;
};

// One `nodeAttrs` entry: capabilities attached to the devices `target` names.
struct NodeAttr {
  std::size_t index = 0;
  Span span;
  std::vector<Text> target;
  std::vector<Text> attr;
  std::vector<Text> app_capabilities;  // keys of `app` (values kept opaque)
  std::vector<Text> ip_pool;           // CIDRs as written
};

struct Ast {
  bool has_acls = false;    // key present (even if empty)
  bool has_grants = false;  // key present (even if empty)
  std::vector<AclRule> acls;
  std::vector<Grant> grants;
  std::map<std::string, std::vector<Text>> groups;  // "group:eng" -> members
  std::map<std::string, Span> group_spans;
  std::map<std::string, std::vector<Text>> tag_owners;  // "tag:web" -> owners
  std::map<std::string, Span> tag_spans;
  std::map<std::string, Text> hosts;                   // alias -> "IP" or "CIDR"
  std::map<std::string, ip::Prefix> host_prefixes;     // alias -> parsed prefix
  std::map<std::string, Span> host_spans;              // alias -> span of its key
  std::map<std::string, std::vector<IpSetOp>> ipsets;  // "ipset:x" -> ops in order
  std::map<std::string, Span> ipset_spans;
  std::map<std::string, Posture> postures;  // "posture:x" -> definition
  std::optional<std::vector<Text>> default_src_posture;
  std::vector<TestCase> tests;
  std::vector<SshRule> ssh;
  std::vector<SshTest> ssh_tests;
  bool has_node_attrs = false;  // key present (even if empty)
  std::vector<NodeAttr> node_attrs;
  // Sections that are shape-checked but not used for access decisions.
  std::optional<json::Value> auto_approvers, derp_map, attr_config;
};

// Lower a parsed HuJSON document into the AST, collecting every shape error (capped at 50),
// with Tailscale's key rules: case-insensitive keys, legacy aliases, unknown and duplicate keys
// rejected. Posture strings go through posture::parse.
// `value` is set only when there are no errors.
Parsed<Ast> lower(const SourceFile& file, const json::Value& root);

// Best-effort form of lower: the AST built so far (entries with shape errors left out) plus every
// diagnostic, so validation can still run and all problems of a file surface in one run.
struct LowerResult {
  Ast ast;
  std::vector<Diagnostic> diags;
  [[nodiscard]] bool has_errors() const {
    for (const auto& d : diags) {
      if (d.severity == Severity::Error) return true;
    }
    return false;
  }
};
LowerResult lower_all(const SourceFile& file, const json::Value& root);

// IANA protocol number for a `proto` value (spec §3.5): a name such as `tcp`, `icmp`, `ipv6-icmp`
// (case-insensitive) or a decimal number 0-255 without leading zeros. `*` and "" are invalid.
std::optional<std::uint8_t> parse_proto(std::string_view text);
// Only TCP (6), UDP (17) and SCTP (132) have ports; any other protocol needs port `*`.
bool proto_has_ports(std::uint8_t number);
// Classify a src/dst selector (without ports) by its spelling; nullopt when malformed.
// Names are not resolved (an unknown bare word is a SelectorKind::Host).
std::optional<Selector> classify_selector(std::string_view text, Span span = {});
// A port spec (`*`, `22`, `1000-2000`, `22,80,8000-8100`); nullopt when invalid.
std::optional<std::vector<PortRange>> parse_ports(std::string_view text);

}  // namespace postern::grammar::policy
