#pragma once
// Access questions as users write them (issue 7 item 4): a source (device name, user login or
// IP), a destination `host:port` / `[v6]:port` and a protocol, resolved against a snapshot and
// answered. Shared by `postern check`, `--batch` and `POST /v1/check`, so every front end reads
// names, ports and protocols the same way and gives the same answer and the same error.
//
//   auto query = engine::resolve_access_query(*snap, "alice@example.com", "db:5432", kProtoTcp);
//   if (!query) return report(query.error());   // kind + message + help
//   auto answer = engine::answer_access_query(*snap, query.value(), /*explain=*/true);

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/grammar/ip.hpp"

namespace postern::engine {

struct QueryError {
  enum class Kind : std::uint8_t {
    InvalidInput,   // malformed endpoint, port or protocol
    UnknownName,    // names no device, user or address
    AmbiguousName,  // names several devices (see `matches`)
  };
  Kind kind = Kind::InvalidInput;
  std::string message;
  std::string help;                  // how to write it instead; may be empty
  std::vector<DeviceIndex> matches;  // AmbiguousName: every device the name matches
};

// A value or the QueryError saying why there is none.
template <typename T>
class Resolved {
 public:
  Resolved(T value) : state_(std::move(value)) {}           // NOLINT: implicit by design
  Resolved(QueryError error) : state_(std::move(error)) {}  // NOLINT
  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const T& value() const& { return std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(state_)); }
  [[nodiscard]] const QueryError& error() const& { return std::get<1>(state_); }

 private:
  std::variant<T, QueryError> state_;
};

// Device names of one inventory, built once per compiled policy and shared by every snapshot
// derived from it. find() has the tiers of engine::find_devices (id/nodeId exact, then an
// address, then FQDN, hostname and first FQDN label case-insensitively; the first tier that
// matches wins) answered with one hash lookup per tier kind.
class DeviceNameIndex {
 public:
  explicit DeviceNameIndex(const Inventory& inventory);

  // A name read once for lookups: its address if it is one, its case-folded key, and their
  // hashes. A batch prepares each query's names a few queries ahead, prefetches what the lookups
  // will read, and looks them up later without parsing or hashing again. Views the name: keep
  // it alive (and in place) while the probe is used.
  class Probe {
   public:
    // The name as an IP address (`[v6]` brackets removed), when it is one.
    [[nodiscard]] const std::optional<grammar::ip::Address>& address() const { return address_; }

   private:
    friend class DeviceNameIndex;
    std::string_view name_;
    std::size_t name_hash_ = 0;
    std::optional<grammar::ip::Address> address_;
    std::size_t address_hash_ = 0;  // AddressHash of address_, when it is one
    std::string folded_;            // the lowercase key; empty when the name has no capitals
    std::size_t folded_hash_ = 0;
  };
  [[nodiscard]] Probe probe(std::string_view name) const;

  // Every device of the first matching tier: empty = unknown, several = ambiguous.
  [[nodiscard]] std::span<const DeviceIndex> find(std::string_view name) const;
  [[nodiscard]] std::span<const DeviceIndex> find(const Probe& probe) const;
  // Two stages of loading what find(probe) reads, each a hint that changes nothing: prefetch()
  // its hash slots, then, a few queries later when they have arrived, prefetch_found() the key
  // text and the per-device address entry the slots point to.
  void prefetch(const Probe& probe) const noexcept;
  void prefetch_found(const Probe& probe) const noexcept;
  // endpoint_address(device, v6) below, from a compact per-device table (no Device read).
  [[nodiscard]] const grammar::ip::Address* endpoint_address(DeviceIndex device,
                                                             bool v6) const noexcept;
  // The device owning `address` as one of its own addresses (not a route).
  [[nodiscard]] std::optional<DeviceIndex> find_address(const grammar::ip::Address& address) const;
  // The untagged devices of the user with this login (exact), in inventory order.
  [[nodiscard]] std::span<const DeviceIndex> user_devices(std::string_view login) const;

 private:
  enum class Tier : std::uint8_t { Fqdn, Hostname, Label };
  // The devices of one key's best tier: postings_[offset, offset + count); the only one
  // inline (`single`), so that a name of one device needs no read of postings_.
  struct Hits {
    std::uint32_t offset = 0;
    std::uint32_t count = 0;
    DeviceIndex single = 0;
    Tier tier = Tier::Label;
  };
  struct AddressHash {
    std::size_t operator()(const grammar::ip::Address& address) const noexcept;
  };
  // Open addressing over views into the inventory or lowered_: no node per name.
  class NameMap {
   public:
    void reserve(std::size_t entries);
    Hits& operator[](std::string_view key);  // inserted when absent
    [[nodiscard]] const Hits* find(std::string_view key) const;
    [[nodiscard]] const Hits* find(std::string_view key, std::size_t hash) const;
    void prefetch(std::size_t hash) const noexcept;
    struct Slot {
      std::string_view key;
      Hits hits;
      std::uint32_t tag = 0;  // the high half of the key's hash
      bool used = false;
    };
    // The slot a lookup of `hash` starts at, when it holds a key of that hash's tag (else null).
    [[nodiscard]] const Slot* first_slot(std::size_t hash) const noexcept;
    template <typename Visit>
    void for_each(Visit&& visit) {
      for (auto& slot : slots_) {
        if (slot.used) visit(slot.hits);
      }
    }

   private:
    [[nodiscard]] std::size_t slot_of(std::string_view key, std::size_t hash) const;
    void grow();
    std::vector<Slot> slots_;
    std::size_t size_ = 0;
  };

  [[nodiscard]] std::span<const DeviceIndex> postings(const Hits& hits) const;
  template <typename EachKey>
  void build(NameMap& map, EachKey&& each_key, std::size_t devices, std::size_t expected_keys);

  std::string lowered_;  // the case-folded FQDNs and hostnames names_ views (never reallocated)
  std::vector<DeviceIndex> postings_;
  NameMap ids_;  // id and nodeId, exact; views into the inventory
  // One bit per hash of every id and nodeId: a name whose bit is clear is no id, which most
  // names are, so that their lookup skips ids_ (a cache miss) for a read of this small table.
  std::vector<std::uint64_t> id_bits_;
  [[nodiscard]] bool may_be_id(std::size_t hash) const noexcept {
    const std::size_t bit = (hash >> 16) & (id_bits_.size() * 64 - 1);
    return ((id_bits_[bit / 64] >> (bit % 64)) & 1U) != 0;
  }
  // Lowercase FQDN (one trailing dot stripped), hostname, first label: the best tier's devices.
  // FQDNs that still end in a dot (`x..`) live in dotted_fqdns_, so that a key ending in a dot
  // in names_ is always a hostname or label (which keep their dots).
  NameMap names_;
  NameMap dotted_fqdns_;
  NameMap users_;  // owner login -> untagged devices; views into the inventory
  // Own address -> device: open addressing with the address inline (one cache line a lookup).
  struct AddressSlot {
    grammar::ip::Address address;
    DeviceIndex device = 0;
    bool used = false;
  };
  [[nodiscard]] std::size_t address_slot(const grammar::ip::Address& address) const noexcept;
  // The same from the address's AddressHash, computed once by probe().
  [[nodiscard]] std::size_t address_slot(const grammar::ip::Address& address,
                                         std::size_t hash) const noexcept;
  std::vector<AddressSlot> addresses_;
  // Per device, the address a query uses for each family (endpoint_address), and whether it
  // has any address at all.
  struct Picks {
    grammar::ip::Address v4;
    grammar::ip::Address v6;
    bool any = false;
  };
  std::vector<Picks> picks_;
};

// One side of a query: one address per device (in the family asked for), or one literal
// address that is no device's.
struct Endpoint {
  std::vector<grammar::ip::Address> addresses;
  std::vector<std::string> labels;                  // "alice-mbp (100.64.0.1)"
  std::vector<std::optional<DeviceIndex>> devices;  // nullopt for a non-device address
};

struct HostPort {
  std::string_view host;  // in the text split, brackets of `[v6]` removed
  std::uint16_t port = 0;
};

// `host:port` or `[v6]:port`. An unbracketed IPv6 address is an error with a hint, never split
// at its last colon. Ports are decimal 0-65535 without leading zeros (`09090` is rejected).
// The host is a view into `text` (no copy: every check splits its destination).
Resolved<HostPort> split_host_port(std::string_view text);
Resolved<std::uint16_t> parse_port(std::string_view text);

// A protocol by name (`tcp`, `icmp`, `ipv6-icmp`, case-insensitive) or decimal number 0-255.
Resolved<std::uint8_t> parse_query_proto(std::string_view text);
// A protocol given as a JSON number: 0-255.
Resolved<std::uint8_t> query_proto_number(std::int64_t number);

// SRC or DST host: device id, nodeId, address, FQDN, hostname, first label, a user login (all
// their untagged devices), or an IP address of no device. `v6` picks each device's address of
// that family (its first address when it has none).
Resolved<Endpoint> resolve_endpoint(const Snapshot& snapshot, std::string_view name, bool v6);
// The address a query uses for `device`: its first of the family `v6` asks for, else its first;
// nullptr when it has none.
const grammar::ip::Address* endpoint_address(const Device& device, bool v6);

struct AccessQuery {
  Endpoint src;  // a user login names all their untagged devices
  Endpoint dst;  // exactly one address
  std::uint8_t proto = kProtoTcp;
  std::uint16_t port = 0;
  std::optional<AttrMap> src_attrs;  // replaces every source device's attributes (srcPostureAttrs)
};

// The source's addresses are taken in the destination's family; ICMP to IPv6 is ICMPv6.
Resolved<AccessQuery> resolve_access_query(const Snapshot& snapshot, std::string_view src,
                                           std::string_view dst, std::uint8_t proto,
                                           std::optional<AttrMap> src_attrs = std::nullopt);

struct AccessAnswer {
  bool accept = true;               // every source device is accepted
  std::vector<Decision> decisions;  // one per source address, in query.src order
};

AccessAnswer answer_access_query(const Snapshot& snapshot, const AccessQuery& query, bool explain);

}  // namespace postern::engine
