#pragma once
// The compiled evaluator (spec policy-language.md §3-§7, design.md §2 steps 5-6, §3 steps 4-6).
//
//   auto engine = Engine::compile(file, ast, inventory, {.now = unix_seconds});
//   Decision d = engine->check({.src = a, .dst = b, .proto = kProtoTcp, .port = 443});
//   engine->apply(device, {AttrChange::set("kandji:agentInstalled", true)}, now);
//
// A compiled policy plus the tailnet's posture state form one immutable Snapshot. Engine holds
// the current snapshot behind an atomic shared_ptr: check() reads whatever snapshot is current
// and never waits for a writer; apply() builds a new snapshot that shares everything but the
// changed device's data, re-evaluating only the postures that read the changed keys, and swaps
// it in. Nothing here throws across the API (bad_alloc aside) and nothing does I/O.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/ip.hpp"
#include "postern/grammar/policy_ast.hpp"
#include "postern/grammar/posture.hpp"

namespace postern::engine {

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpV6 = 58;
inline constexpr std::uint8_t kProtoSctp = 132;

// Attribute values by key, e.g. {"node:os": "macos", "falcon:ztaScore": 80.0}.
using AttrMap = std::map<std::string, AttrValue, std::less<>>;

struct CompileOptions {
  std::int64_t now = 0;  // Unix seconds; attributes whose expiry is <= now count as unset
};

// One access question: may `src` open `proto` to `dst`:`port`? For ICMP the port is ignored.
struct Request {
  grammar::ip::Address src;
  grammar::ip::Address dst;
  std::uint8_t proto = kProtoTcp;
  std::uint16_t port = 0;
  // When set, replaces the source device's attributes for this query only (like a policy
  // test's srcPostureAttrs or `postern check --attrs`). Must outlive the call.
  const AttrMap* src_attrs = nullptr;
  // When false, check() fills only allow/reason/rule (the throughput path skips explanations).
  bool explain = true;
};

enum class RuleKind : std::uint8_t { Acl, Grant };

// A rule of the policy file: `acls[index]` or `grants[index]`.
struct RuleRef {
  RuleKind kind = RuleKind::Acl;
  std::size_t index = 0;
  grammar::Span span;      // the whole rule object
  std::uint32_t line = 0;  // 1-based line of span.begin in the policy file
};

// "acls[3]" / "grants[0]".
std::string rule_name(const RuleRef& rule);
// The same appended to `out`, without a string of its own (answers write one per decision).
void append_rule_name(std::string& out, const RuleRef& rule);

// One posture condition that did not hold for the source device.
struct ConditionFailure {
  std::string attribute;  // "node:tsVersion"
  grammar::posture::Op op = grammar::posture::Op::Bare;
  std::string expected;             // the literal(s) as written: `'1.40'`, `['US', 'CA']`
  std::optional<AttrValue> actual;  // the device's value; nullopt = unset (or expired)
  grammar::Span span;               // the condition in the policy file
  std::string text;                 // canonical condition text (posture::to_string)
};

// A posture of a rule's effective list that the source failed, with every failing condition.
struct PostureFailure {
  std::string posture;  // "posture:trusted"
  std::vector<ConditionFailure> conditions;
};

// A rule that matched source, destination, protocol and port but whose posture gate failed.
struct NearMiss {
  RuleRef rule;
  bool from_default = false;  // the gate was defaultSrcPosture, not the rule's own srcPosture
  std::vector<PostureFailure> postures;  // each posture of the list (all failed: OR semantics)
};

// One posture of the policy judged for one device: pass, or the conditions that failed.
struct PostureResult {
  std::string posture;  // "posture:trusted"
  bool pass = false;
  std::vector<ConditionFailure> failures;  // filled only when asked to explain
};

enum class Reason : std::uint8_t {
  Rule,           // allowed by `rule`
  AllowAll,       // the policy has neither `acls` nor `grants`: everything is allowed
  NoRule,         // denied: no rule admits this source to this destination, protocol and port
  PostureFailed,  // denied: some rule would admit it but for posture (see near_misses)
};

struct Decision {
  bool allow = false;
  Reason reason = Reason::NoRule;
  std::optional<RuleRef> rule;        // the deciding rule of an accept (lowest acls, then grants)
  std::vector<NearMiss> near_misses;  // deny with explain: rules failed only by posture
};

// An attribute change for one device (spec §8.3 semantics: set with optional expiry, delete).
struct AttrChange {
  enum class Kind : std::uint8_t { Set, Delete, SetExpiry };
  Kind kind = Kind::Set;
  std::string key;
  AttrValue value;                     // Kind::Set
  std::optional<std::int64_t> expiry;  // Kind::Set (optional) and Kind::SetExpiry; Unix seconds

  static AttrChange set(std::string key, AttrValue value,
                        std::optional<std::int64_t> expiry = std::nullopt);
  static AttrChange remove(std::string key);
  static AttrChange set_expiry(std::string key, std::int64_t expiry);
};

struct ApplyResult {
  bool ok = false;
  std::string error;  // why nothing was applied (unknown device, ...)
  std::size_t postures_reevaluated = 0;
  std::size_t postures_changed = 0;  // postures whose result flipped for the device
};

// tailcfg.FilterRule (spec §7.6) as JSON-ready values.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;
};
struct NetPortRange {
  std::string ip;  // "*", "100.64.0.1", "10.0.0.0/8"
  PortRange ports;
};
struct FilterRule {
  std::vector<std::string> src_ips;  // "*", addresses, prefixes, "a-b" ranges
  std::vector<NetPortRange> dst_ports;
  std::vector<int> ip_proto;  // empty = TCP, UDP, ICMPv4, ICMPv6
};

using DeviceIndex = std::uint32_t;

// One device's change set within a batch (Engine::apply over many devices).
struct DeviceChanges {
  DeviceIndex device = 0;
  std::span<const AttrChange> changes;
};

// One stored attribute of a device: its value and, when it has one, its expiry (Unix seconds).
struct AttributeState {
  AttrValue value;
  std::optional<std::int64_t> expiry;
  friend bool operator==(const AttributeState&, const AttributeState&) = default;
};
using AttributeStates = std::map<std::string, AttributeState, std::less<>>;
using Expiries = std::map<std::string, std::int64_t, std::less<>>;

// Which spellings of an attribute key (compared case-insensitively) devices hold, and with which
// value types: what the control layer needs to keep a `custom:` key one type tailnet-wide and to
// refuse keys that differ only in case. Stored attributes count, expired or not.
struct AttributeKeyUsage {
  std::string spelling;            // the key exactly as held
  std::size_t string_holders = 0;  // devices holding it with a string value
  std::size_t number_holders = 0;
  std::size_t bool_holders = 0;
  [[nodiscard]] std::size_t holders() const noexcept {
    return string_holders + number_holders + bool_holders;
  }
  friend bool operator==(const AttributeKeyUsage&, const AttributeKeyUsage&) = default;
};

class DeviceNameIndex;  // query.hpp
class CompiledPolicy;   // engine/src: rules, selector tables, posture predicates
struct SnapshotData;    // engine/src: the policy plus every device's posture state

// An immutable view: one compiled policy plus one version of every device's posture state.
class Snapshot {
 public:
  explicit Snapshot(std::unique_ptr<const SnapshotData> data);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  [[nodiscard]] Decision check(const Request& request) const noexcept;
  // The throughput path: allow[i] = check(requests[i]).allow for i < min(sizes); explanations
  // are never built. Queries are independent, so each one's tables are fetched from memory
  // while the ones before it are decided.
  void check_batch(std::span<const Request> requests, std::span<bool> allow) const noexcept;
  // Same with whole decisions: decisions[i] = check(requests[i]) (near misses when explain).
  void check_batch(std::span<const Request> requests, std::span<Decision> decisions) const noexcept;

  // A device by id, nodeId, one of its addresses, FQDN, hostname or first FQDN label (the tiers
  // of engine::find_devices); nullopt when unknown or ambiguous.
  // O(1): one lookup in the name index built when the policy was compiled.
  [[nodiscard]] std::optional<DeviceIndex> find_device(std::string_view name) const;
  [[nodiscard]] const DeviceNameIndex& names() const noexcept;
  [[nodiscard]] std::size_t device_count() const noexcept;
  [[nodiscard]] const Device& device(DeviceIndex index) const noexcept;
  [[nodiscard]] const Inventory& inventory() const noexcept;
  // The device's current attributes (expired ones left out).
  [[nodiscard]] AttrMap attributes(DeviceIndex index) const;
  // The same, each passed to `visit` in key order without a copy of the map.
  void visit_attributes(
      DeviceIndex index,
      const std::function<void(const std::string& key, const AttrValue& value)>& visit) const;
  // The device's current attributes with their expiries (expired ones left out).
  [[nodiscard]] AttributeStates attribute_states(DeviceIndex index) const;
  // One current attribute; nullopt when unset or expired.
  [[nodiscard]] std::optional<AttributeState> attribute(DeviceIndex index,
                                                        std::string_view key) const;
  // Expiries of the device's current attributes (key -> Unix seconds, all later than now()).
  [[nodiscard]] Expiries expiries(DeviceIndex index) const;
  // The packet filter for one node (spec §7.6), posture-failing sources left out.
  [[nodiscard]] std::vector<FilterRule> filter_for(DeviceIndex index) const;
  // Every posture of the policy in name order, with the device's result (held in the snapshot,
  // so O(postures)); `explain` also lists each failing condition with the device's value.
  [[nodiscard]] std::vector<PostureResult> posture_results(DeviceIndex index, bool explain) const;
  [[nodiscard]] const grammar::SourceFile& file() const noexcept;
  // The compiled policy this snapshot answers with, as an identity only: every snapshot of one
  // policy load shares it, and no later load can (a weak_ptr to it tells them apart for good).
  [[nodiscard]] std::shared_ptr<const void> policy_identity() const noexcept;
  [[nodiscard]] std::int64_t now() const noexcept;
  [[nodiscard]] const SnapshotData& data() const noexcept { return *data_; }

 private:
  std::unique_ptr<const SnapshotData> data_;
};

// A recompile made ahead of Engine::install (reload() is both at once): it reads nothing of the
// engine, so a caller can build it outside the locks its writers take, and swap it in after.
class PreparedReload {
 public:
  PreparedReload(PreparedReload&&) noexcept;
  PreparedReload& operator=(PreparedReload&&) noexcept;
  ~PreparedReload();

 private:
  friend class Engine;
  struct Parts;
  explicit PreparedReload(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

class Engine {
 public:
  // Resolve every selector against `inventory` and build the evaluator. The policy should
  // already have passed engine::validate; unresolvable names then simply match nothing.
  static std::unique_ptr<Engine> compile(const grammar::SourceFile& file,
                                         const grammar::policy::Ast& ast,
                                         const Inventory& inventory, CompileOptions options = {});
  // Same without copying the inventory: every snapshot references `inventory`.
  static std::unique_ptr<Engine> compile(const grammar::SourceFile& file,
                                         const grammar::policy::Ast& ast,
                                         std::shared_ptr<const Inventory> inventory,
                                         CompileOptions options = {});

  explicit Engine(std::shared_ptr<const Snapshot> initial);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The one query path (design.md §1.6). Never throws.
  [[nodiscard]] Decision check(const Request& request) const noexcept;
  // Snapshot::check_batch over the current snapshot (one snapshot for the whole batch).
  void check_batch(std::span<const Request> requests, std::span<bool> allow) const noexcept;
  void check_batch(std::span<const Request> requests, std::span<Decision> decisions) const noexcept;
  // The current snapshot: hold it to answer many queries against one consistent state.
  [[nodiscard]] std::shared_ptr<const Snapshot> snapshot() const noexcept;

  // Apply a change set to one device and publish a new snapshot. Only the postures that read a
  // changed key are re-evaluated, only for this device. Unknown device: nothing changes. Time
  // first advances to `now` (as advance_time) when it is later than the snapshot's time.
  ApplyResult apply(DeviceIndex device, std::span<const AttrChange> changes, std::int64_t now);
  // The same for many devices at once, in order, published as one snapshot (a batch of writes
  // costs one snapshot, not one per device). Any unknown device: nothing changes.
  ApplyResult apply(std::span<const DeviceChanges> batch, std::int64_t now);
  // Re-evaluate attributes whose expiry is <= now (e.g. called once a second by the server).
  std::size_t advance_time(std::int64_t now);
  // Recompile (policy or inventory reload) and swap atomically.
  void reload(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
              const Inventory& inventory, CompileOptions options = {});
  void reload(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
              std::shared_ptr<const Inventory> inventory, CompileOptions options = {});
  // The two halves of reload(): compile (no engine needed), then swap atomically, with `replay`
  // (change sets made since the compile read the inventory, each as apply() takes it) applied to
  // it first, so that no reader sees it without them. Not ok: a batch of `replay` was refused
  // (its error); the others hold.
  [[nodiscard]] static PreparedReload prepare(const grammar::SourceFile& file,
                                              const grammar::policy::Ast& ast,
                                              std::shared_ptr<const Inventory> inventory,
                                              CompileOptions options = {});
  ApplyResult install(PreparedReload prepared, std::span<const std::vector<DeviceChanges>> replay,
                      std::int64_t now);

  // Every spelling of `key` (case-insensitive) some device of the current snapshot holds. Kept
  // up to date by apply() and reload(), built on first use: O(1) amortised per call.
  [[nodiscard]] std::vector<AttributeKeyUsage> attribute_key_usage(std::string_view key) const;

 private:
  std::shared_ptr<const Snapshot> current() const noexcept;
  void publish(std::shared_ptr<const Snapshot> next) noexcept;
  // advance_time and apply on `snap` (replaced by the result), published by the caller.
  std::size_t advance_on(std::shared_ptr<const Snapshot>& snap, std::int64_t now);
  ApplyResult apply_on(std::shared_ptr<const Snapshot>& snap, std::span<const DeviceChanges> batch);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- policy tests (spec §6) ----

// One test source's failures, in Tailscale's ACLTestFailureSummary shape:
// {"user": "bob@example.com", "errors": ["address \"tag:prod:5432\": want: Accept, got: Drop"]}.
struct TestSourceResult {
  std::string user;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  grammar::Span span;  // the test entry
};

struct TestRunResult {
  bool passed = true;
  std::size_t tests_run = 0;
  std::vector<TestSourceResult> failures;        // only sources with errors, in test order
  std::vector<grammar::Diagnostic> diagnostics;  // one T4xx error per failing test entry
};

// Run the policy's `tests`. With an inventory, sources and destinations resolve to its devices
// (every source device must pass); without one (nullptr), to synthetic devices: a user is one
// untagged device of that user, a tag one device with that tag, a host alias its address.
// The policy's `sshTests` run too (run_ssh_tests, ssh.hpp); their failures are added alike.
TestRunResult run_policy_tests(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
                               const Inventory* inventory, CompileOptions options = {});

// Render an attribute value as in a policy literal: `'macos'`, `1.5`, `true`.
std::string attr_value_text(const AttrValue& value);

}  // namespace postern::engine
