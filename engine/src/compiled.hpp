#pragma once
// Internal data of the compiled evaluator. Layout (docs/decisions.md#engine):
// - every ACL destination entry and every grant (dst × ip item) becomes one CompiledRule; their
//   order (acls first, then grants) is the bit order of every rule bitset, so the lowest set bit
//   of a match is the deciding rule;
// - a check of device → device is the AND of four rule bitsets: the source address's selector
//   row (by source class), the source device's posture row (rules whose posture it passes), the
//   destination address's row (by destination class) and the port/protocol row;
// - everything else (non-device endpoints, other protocols, per-query attributes) takes the
//   generic path that tests one rule at a time with the same data.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "addr_set.hpp"
#include "chunk_table.hpp"
#include "postern/engine/engine.hpp"
#include "postern/engine/query.hpp"

namespace postern::engine {

using Word = std::uint64_t;
using Bits = std::vector<Word>;

inline void set_bit(Bits& bits, std::size_t i) { bits[i >> 6] |= Word{1} << (i & 63); }
inline bool test_bit(const Bits& bits, std::size_t i) {
  return ((bits[i >> 6] >> (i & 63)) & 1U) != 0;
}

using AttrId = std::uint32_t;

// One posture condition compiled against interned attribute ids.
struct Predicate {
  AttrId attr = 0;
  grammar::posture::Op op = grammar::posture::Op::Bare;
  bool version = false;  // ordering and equality with compare_versions
  std::vector<AttrValue> operands;
};

struct CompiledPosture {
  std::string name;
  std::vector<Predicate> predicates;
  const grammar::posture::Condition* first_condition = nullptr;  // into Ast copy, same order
  std::vector<grammar::posture::Condition> conditions;
};

// An effective posture list of some rule (OR of postures).
struct PostureList {
  std::vector<std::uint32_t> postures;
};

struct CompiledRule {
  RuleRef ref;
  // Source: devices by identity (through source classes) or addresses.
  bool src_all_devices = false;  // `*`, autogroup:danger-all
  bool src_any_address = false;  // autogroup:danger-all: every address, tailnet or not
  detail::AddrSet src_addrs;
  // Destination.
  bool dst_all_devices = false;  // `*`
  bool dst_self = false;         // autogroup:self
  detail::AddrSet dst_addrs;
  bool has_via = false;
  detail::AddrSet via_routes;  // grants with `via`: only these routed addresses
  // Protocols and ports.
  bool default_protos = true;  // TCP, UDP, ICMPv4, ICMPv6
  std::uint8_t proto = 0;      // when !default_protos
  std::vector<grammar::policy::PortRange> ports;
  // Posture: index into CompiledPolicy::lists, -1 = none.
  std::int32_t posture_list = -1;
  bool posture_from_default = false;
  // Selectors as written, for filters (identity part resolved per device).
  std::vector<std::uint32_t> src_identity_classes;  // sorted identity classes admitted
};

// An address of a device (one per family).
struct Slot {
  DeviceIndex device = 0;
  std::uint32_t src_class = 0;
  std::uint32_t dst_class = 0;
  const std::uint64_t* src_row = nullptr;  // src_class_rows[src_class].data(), for the hot path
  const std::uint64_t* dst_row = nullptr;
};

// Address → slot index: a dense array for the v4 range when it is compact, else a hash.
class SlotIndex {
 public:
  void build(const std::vector<std::pair<grammar::ip::Address, std::uint32_t>>& entries);
  [[nodiscard]] std::uint32_t find(const grammar::ip::Address& a) const noexcept;
  // Start loading the entry find(a) will read first (check_batch runs this a few queries ahead).
  void prefetch(const grammar::ip::Address& a) const noexcept {
    if (a.v6) return;  // the v6 hash is node-based; its lookups are rare in practice
    const std::uint32_t k = (std::uint32_t{a.bytes[0]} << 24) | (std::uint32_t{a.bytes[1]} << 16) |
                            (std::uint32_t{a.bytes[2]} << 8) | std::uint32_t{a.bytes[3]};
    if (v4_is_dense_) {
      const std::uint32_t off = k - v4_base_;
      if (k >= v4_base_ && off < v4_dense_.size()) __builtin_prefetch(v4_dense_.data() + off);
    } else if (!v4_vals_.empty()) {
      const auto i = static_cast<std::uint32_t>((k * 0x9E3779B97F4A7C15ULL) >> 32) & v4_mask_;
      __builtin_prefetch(v4_keys_.data() + i);
      __builtin_prefetch(v4_vals_.data() + i);
    }
  }
  // find() with the common dense IPv4 case inlined into the batch loop.
  [[nodiscard]] std::uint32_t find_inline(const grammar::ip::Address& a) const noexcept {
    if (a.v6 || !v4_is_dense_) return find(a);
    const std::uint32_t k = (std::uint32_t{a.bytes[0]} << 24) | (std::uint32_t{a.bytes[1]} << 16) |
                            (std::uint32_t{a.bytes[2]} << 8) | std::uint32_t{a.bytes[3]};
    const std::uint32_t off = k - v4_base_;
    return k >= v4_base_ && off < v4_dense_.size() ? v4_dense_[off] : kNone;
  }
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

 private:
  std::uint32_t v4_base_ = 0;
  std::vector<std::uint32_t> v4_dense_;  // value - base -> slot
  std::vector<std::uint32_t> v4_keys_, v4_vals_;
  std::uint32_t v4_mask_ = 0;
  bool v4_is_dense_ = false;
  std::unordered_map<std::string, std::uint32_t> v6_;  // 16 raw bytes -> slot
};

class CompiledPolicy {
 public:
  explicit CompiledPolicy(std::shared_ptr<const Inventory> tailnet)
      : inventory_owner(std::move(tailnet)), inventory(*inventory_owner) {}

  grammar::SourceFile file{"", ""};
  std::shared_ptr<const Inventory> inventory_owner;  // shared with the caller, never copied
  const Inventory& inventory;
  // Device names -> devices, built once per compile and shared by every snapshot apply() derives.
  std::shared_ptr<const DeviceNameIndex> names;
  // The file has neither `acls` nor `grants`: `rules` hold Tailscale's default `*` -> `*:*`
  // (decisions say Reason::AllowAll and name no rule).
  bool default_policy = false;
  std::vector<CompiledRule> rules;
  std::size_t words = 0;  // words per rule bitset

  // Postures.
  std::vector<std::string> attr_names;  // AttrId -> key
  std::unordered_map<std::string, AttrId> attr_ids;
  std::vector<CompiledPosture> postures;
  std::unordered_map<std::string, std::uint32_t> posture_ids;
  std::vector<std::vector<std::uint32_t>> attr_to_postures;  // dependency map
  std::vector<PostureList> lists;
  std::vector<Bits> list_rules;  // per list: rules gated by it
  Bits ungated_rules;            // rules without posture requirement
  Bits all_rules;                // every rule (external devices: posture exempt)

  // Devices.
  std::vector<Slot> slots;
  SlotIndex slot_index;
  std::vector<std::uint32_t> device_identity;  // device -> identity class
  std::vector<std::uint32_t> device_owner;     // device -> owner id (kNoOwner when tagged)
  std::vector<bool> device_exempt;             // external: not posture-checked
  static constexpr std::uint32_t kNoOwner = ~std::uint32_t{0};
  std::vector<Bits> src_class_rows;
  std::vector<Bits> dst_class_rows;
  std::vector<std::uint32_t> identity_src_class;  // identity class -> plain source class
  std::vector<std::uint32_t> identity_dst_class;

  // Port/protocol rows: interval_of[port] -> interval; rows[interval * 3 + {tcp,udp,sctp}].
  std::vector<std::uint32_t> interval_of;
  std::vector<Bits> port_rows;
  // Hot-path copies of per-rule data (CompiledRule is large and cold).
  std::vector<std::uint8_t> rule_self;
  std::vector<RuleRef> rule_refs;

  // Non-device source/destination addresses that are inside an approved route of a device.
  detail::AddrSet all_routes;

  // Name lookup (hostname, FQDN, ...) for find_device.
  [[nodiscard]] int proto_column(std::uint8_t proto) const noexcept {
    return proto == kProtoTcp ? 0 : proto == kProtoUdp ? 1 : proto == kProtoSctp ? 2 : -1;
  }
};

// One device's posture state inside a snapshot.
struct DeviceState {
  std::shared_ptr<const AttrMap> attributes;  // as stored, expired entries included
  std::shared_ptr<const std::map<std::string, std::int64_t, std::less<>>> expiries;
  std::vector<bool> posture_ok;         // per posture
  std::shared_ptr<const Bits> pok_row;  // rules whose posture gate this device passes
  std::int64_t next_expiry = 0;         // 0 = none pending
};

inline constexpr std::size_t kChunk = 32;
struct DeviceChunk {
  std::vector<DeviceState> states;
  std::array<const Word*, kChunk> pok{};  // states[i].pok_row->data(), for the hot path
  void refresh(std::size_t i) { pok[i] = states[i].pok_row->data(); }
};

// ---- posture evaluation (posture_eval.cpp) ----

// Whether `key` has an expiry at or before `now`.
bool expired(const std::map<std::string, std::int64_t, std::less<>>* expiries, std::string_view key,
             std::int64_t now);
// The value of `key` at `now`, or nullopt when unset or expired.
const AttrValue* lookup_attr(const AttrMap& attrs,
                             const std::map<std::string, std::int64_t, std::less<>>* expiries,
                             std::string_view key, std::int64_t now);
bool predicate_holds(const Predicate& p, const AttrValue* value);
bool posture_holds(const CompiledPolicy& policy, std::uint32_t posture, const AttrMap& attrs,
                   const std::map<std::string, std::int64_t, std::less<>>* expiries,
                   std::int64_t now);
PostureFailure explain_posture(const CompiledPolicy& policy, std::uint32_t posture,
                               const AttrMap& attrs,
                               const std::map<std::string, std::int64_t, std::less<>>* expiries,
                               std::int64_t now);

// Build (or reuse from `cache`) the posture row for a posture-result vector.
using RowCache = std::map<std::vector<bool>, std::shared_ptr<const Bits>>;
std::shared_ptr<const Bits> posture_row(const CompiledPolicy& policy,
                                        const std::vector<bool>& posture_ok, RowCache& cache);
// Full evaluation of one device's state from its attributes.
DeviceState evaluate_device(
    const CompiledPolicy& policy, DeviceIndex device, std::shared_ptr<const AttrMap> attrs,
    std::shared_ptr<const std::map<std::string, std::int64_t, std::less<>>> expiries,
    std::int64_t now, RowCache& cache);

// ---- compilation (compile.cpp) ----
std::shared_ptr<const CompiledPolicy> compile_policy(const grammar::SourceFile& file,
                                                     const grammar::policy::Ast& ast,
                                                     const Inventory& inventory);
// Same without copying the inventory: the policy (and its snapshots) keep `inventory` alive.
std::shared_ptr<const CompiledPolicy> compile_policy(const grammar::SourceFile& file,
                                                     const grammar::policy::Ast& ast,
                                                     std::shared_ptr<const Inventory> inventory);

// Per-row summaries for the fast path: bit w is set when word w of the row is nonzero, so a
// check visits only the words where the source, destination and port rows all have rules.
// Only for policies of at most 64 words (4096 rules); larger ones scan every word.
struct RowMasks {
  std::vector<Word> src;   // per source class
  std::vector<Word> dst;   // per destination class
  std::vector<Word> port;  // per port row
};
// nullptr when the policy has more than 64 words.
std::shared_ptr<const RowMasks> make_row_masks(const CompiledPolicy& policy);

struct SnapshotData {
  std::shared_ptr<const CompiledPolicy> policy;
  std::shared_ptr<const RowMasks> masks;  // null: scan every word
  ChunkTable<DeviceChunk> chunks;         // copied per snapshot: shares every unchanged chunk
  std::int64_t now = 0;
};
SnapshotData initial_state(std::shared_ptr<const CompiledPolicy> policy, std::int64_t now,
                           RowCache& cache);

}  // namespace postern::engine
