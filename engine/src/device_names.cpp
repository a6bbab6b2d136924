// DeviceNameIndex: the tiers of find_devices as hash lookups, built once per compiled policy.
#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>

#include "device_naming.hpp"
#include "postern/engine/query.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::engine {
namespace {

// Appends the lowercase `text` to `arena` (reserved up front, so earlier views stay valid).
std::string_view fold_into(std::string& arena, std::string_view text) {
  const std::size_t begin = arena.size();
  for (const char c : text) arena.push_back(grammar::ascii_lower(c));
  return std::string_view(arena).substr(begin);
}

}  // namespace

std::size_t DeviceNameIndex::AddressHash::operator()(
    const grammar::ip::Address& address) const noexcept {
  const std::string_view bytes(reinterpret_cast<const char*>(address.bytes.data()),
                               address.bytes.size());
  return std::hash<std::string_view>{}(bytes) ^ (address.v6 ? 0x9E3779B97F4A7C15ULL : 0U);
}

void DeviceNameIndex::NameMap::reserve(std::size_t entries) {
  std::size_t capacity = 16;
  while (capacity < entries * 2) capacity *= 2;
  if (capacity > slots_.size()) {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
    size_ = 0;
    for (auto& slot : old) {
      if (slot.used) (*this)[slot.key] = slot.hits;
    }
  }
}

void DeviceNameIndex::NameMap::grow() { reserve(std::max<std::size_t>(size_ + 1, slots_.size())); }

// The slot holding `key`, or the empty slot where it belongs (linear probing, load <= 1/2).
// The hash's high half, kept in each slot, rules out other keys without reading their text.
std::size_t DeviceNameIndex::NameMap::slot_of(std::string_view key, std::size_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(hash >> 32);
  std::size_t i = hash & mask;
  while (slots_[i].used && (slots_[i].tag != tag || slots_[i].key != key)) i = (i + 1) & mask;
  return i;
}

DeviceNameIndex::Hits& DeviceNameIndex::NameMap::operator[](std::string_view key) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::size_t hash = std::hash<std::string_view>{}(key);
  Slot& slot = slots_[slot_of(key, hash)];
  if (!slot.used) {
    slot = Slot{key, Hits{}, static_cast<std::uint32_t>(hash >> 32), true};
    ++size_;
  }
  return slot.hits;
}

const DeviceNameIndex::Hits* DeviceNameIndex::NameMap::find(std::string_view key) const {
  return find(key, std::hash<std::string_view>{}(key));
}

const DeviceNameIndex::Hits* DeviceNameIndex::NameMap::find(std::string_view key,
                                                            std::size_t hash) const {
  if (slots_.empty()) return nullptr;
  const Slot& slot = slots_[slot_of(key, hash)];
  return slot.used ? &slot.hits : nullptr;
}

void DeviceNameIndex::NameMap::prefetch(std::size_t hash) const noexcept {
  if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
}

const DeviceNameIndex::NameMap::Slot* DeviceNameIndex::NameMap::first_slot(
    std::size_t hash) const noexcept {
  if (slots_.empty()) return nullptr;
  const Slot& slot = slots_[hash & (slots_.size() - 1)];
  return slot.used && slot.tag == static_cast<std::uint32_t>(hash >> 32) ? &slot : nullptr;
}

// Two passes over (key, tier, device): find each key's best tier and its device count, then
// lay out that tier's devices contiguously in postings_.
template <typename EachKey>
void DeviceNameIndex::build(NameMap& map, EachKey&& each_key, std::size_t devices,
                            std::size_t expected_keys) {
  map.reserve(expected_keys);
  for (std::size_t d = 0; d < devices; ++d) {
    each_key(d, [&](std::string_view key, Tier tier) {
      Hits& hits = map[key];
      if (hits.count == 0 || tier < hits.tier) {
        hits = Hits{0, 1, 0, tier};
      } else if (tier == hits.tier) {
        ++hits.count;
      }
    });
  }
  map.for_each([&](Hits& hits) {
    hits.offset = static_cast<std::uint32_t>(postings_.size());
    postings_.resize(postings_.size() + hits.count);
    hits.count = 0;  // counts again while filling
  });
  for (std::size_t d = 0; d < devices; ++d) {
    each_key(d, [&](std::string_view key, Tier tier) {
      Hits& hits = map[key];
      if (tier == hits.tier) postings_[hits.offset + hits.count++] = static_cast<DeviceIndex>(d);
    });
  }
  map.for_each([&](Hits& hits) {
    if (hits.count > 0) hits.single = postings_[hits.offset];
  });
}

std::size_t DeviceNameIndex::address_slot(const grammar::ip::Address& address) const noexcept {
  return address_slot(address, AddressHash{}(address));
}

std::size_t DeviceNameIndex::address_slot(const grammar::ip::Address& address,
                                          std::size_t hash) const noexcept {
  const std::size_t mask = addresses_.size() - 1;
  std::size_t i = hash & mask;
  while (addresses_[i].used && addresses_[i].address != address) i = (i + 1) & mask;
  return i;
}

DeviceNameIndex::DeviceNameIndex(const Inventory& inventory) {
  const auto& devices = inventory.devices;
  std::size_t arena_size = 0;
  for (const auto& d : devices) arena_size += d.name.size() + d.hostname.size();
  lowered_.reserve(arena_size);
  std::vector<std::string_view> fqdns(devices.size()), hostnames(devices.size());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    fqdns[i] = fold_into(lowered_, devices[i].name);
    hostnames[i] = fold_into(lowered_, devices[i].hostname);
  }

  build(
      ids_,
      [&](std::size_t i, auto&& add) {
        const auto& d = devices[i];
        if (!d.id.empty()) add(d.id, Tier::Fqdn);
        if (!d.node_id.empty() && d.node_id != d.id) add(d.node_id, Tier::Fqdn);
      },
      devices.size(), devices.size() * 2);
  // 16 bits per id keep the share of other names that must still look in ids_ near 1/16.
  std::size_t id_bit_count = 64;
  while (id_bit_count < devices.size() * 2 * 16) id_bit_count *= 2;
  id_bits_.assign(id_bit_count / 64, 0);
  for (const auto& d : devices) {
    for (const std::string_view id : {std::string_view(d.id), std::string_view(d.node_id)}) {
      const std::size_t bit = (std::hash<std::string_view>{}(id) >> 16) & (id_bit_count - 1);
      id_bits_[bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
  }
  build(
      names_,
      [&](std::size_t i, auto&& add) {
        if (!devices[i].name.empty()) {
          const auto fqdn = strip_trailing_dot(fqdns[i]);
          if (fqdn.empty() || fqdn.back() != '.') add(fqdn, Tier::Fqdn);
          add(first_label(fqdns[i]), Tier::Label);
        }
        if (!hostnames[i].empty()) add(hostnames[i], Tier::Hostname);
      },
      devices.size(), devices.size() * 2);
  build(
      dotted_fqdns_,
      [&](std::size_t i, auto&& add) {
        const auto fqdn = strip_trailing_dot(fqdns[i]);
        if (!fqdn.empty() && fqdn.back() == '.') add(fqdn, Tier::Fqdn);
      },
      devices.size(), 0);
  build(
      users_,
      [&](std::size_t i, auto&& add) {
        if (!devices[i].tagged() && !devices[i].user.empty()) add(devices[i].user, Tier::Fqdn);
      },
      devices.size(), devices.size() / 2);
  std::size_t address_count = 0;
  for (const auto& d : devices) address_count += d.addresses.size();
  std::size_t capacity = 16;
  while (capacity < address_count * 2) capacity *= 2;
  addresses_.assign(capacity, AddressSlot{});
  picks_.resize(devices.size());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    for (const auto& a : devices[i].addresses) {
      AddressSlot& slot = addresses_[address_slot(a)];
      if (!slot.used) slot = AddressSlot{a, static_cast<DeviceIndex>(i), true};  // first wins
    }
    Picks& picks = picks_[i];
    if (const auto* v4 = engine::endpoint_address(devices[i], false)) {
      picks = Picks{*v4, *engine::endpoint_address(devices[i], true), true};
    }
  }
}

std::span<const DeviceIndex> DeviceNameIndex::postings(const Hits& hits) const {
  if (hits.count == 1) return std::span<const DeviceIndex>(&hits.single, 1);
  return std::span<const DeviceIndex>(postings_).subspan(hits.offset, hits.count);
}

const grammar::ip::Address* DeviceNameIndex::endpoint_address(DeviceIndex device,
                                                              bool v6) const noexcept {
  if (device >= picks_.size() || !picks_[device].any) return nullptr;
  return v6 ? &picks_[device].v6 : &picks_[device].v4;
}

DeviceNameIndex::Probe DeviceNameIndex::probe(std::string_view name) const {
  Probe p;
  p.name_ = name;
  if (name.empty()) return p;
  p.name_hash_ = std::hash<std::string_view>{}(name);
  std::string_view bare = name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  p.address_ = grammar::ip::parse_address(bare);
  if (p.address_) {
    p.address_hash_ = AddressHash{}(*p.address_);
    return p;
  }
  // Only a name with capitals needs a lowercase copy to hash.
  if (std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    p.folded_.assign(name);
    for (auto& c : p.folded_) c = grammar::ascii_lower(c);
    p.folded_hash_ = std::hash<std::string_view>{}(p.folded_);
  } else {
    p.folded_hash_ = p.name_hash_;
  }
  return p;
}

void DeviceNameIndex::prefetch(const Probe& probe) const noexcept {
  if (probe.name_.empty()) return;
  if (may_be_id(probe.name_hash_)) ids_.prefetch(probe.name_hash_);
  if (probe.address_) {
    if (!addresses_.empty()) {
      __builtin_prefetch(&addresses_[probe.address_hash_ & (addresses_.size() - 1)]);
    }
    return;
  }
  names_.prefetch(probe.folded_hash_);
}

void DeviceNameIndex::prefetch_found(const Probe& probe) const noexcept {
  if (probe.name_.empty()) return;
  const auto fetch = [this](const NameMap::Slot* slot) {
    if (slot == nullptr) return;
    __builtin_prefetch(slot->key.data());
    if (slot->hits.single < picks_.size()) __builtin_prefetch(&picks_[slot->hits.single]);
  };
  if (may_be_id(probe.name_hash_)) fetch(ids_.first_slot(probe.name_hash_));
  if (probe.address_) {
    if (addresses_.empty()) return;
    const auto& slot = addresses_[probe.address_hash_ & (addresses_.size() - 1)];
    if (slot.used && slot.device < picks_.size()) __builtin_prefetch(&picks_[slot.device]);
    return;
  }
  fetch(names_.first_slot(probe.folded_hash_));
}

std::span<const DeviceIndex> DeviceNameIndex::find(std::string_view name) const {
  return find(probe(name));
}

std::span<const DeviceIndex> DeviceNameIndex::find(const Probe& probe) const {
  if (probe.name_.empty()) return {};
  if (may_be_id(probe.name_hash_)) {
    if (const auto* hits = ids_.find(probe.name_, probe.name_hash_)) return postings(*hits);
  }
  if (probe.address_) {
    const AddressSlot& slot = addresses_[address_slot(*probe.address_, probe.address_hash_)];
    return slot.used ? std::span<const DeviceIndex>(&slot.device, 1)
                     : std::span<const DeviceIndex>{};
  }
  const std::string_view key = probe.folded_.empty() ? probe.name_ : probe.folded_;
  // `x.` is the FQDN `x` written absolute; as a hostname or label it keeps its dot.
  if (key.back() == '.') {
    const auto stripped = key.substr(0, key.size() - 1);
    const auto* fqdn = !stripped.empty() && stripped.back() == '.' ? dotted_fqdns_.find(stripped)
                                                                   : names_.find(stripped);
    if (fqdn != nullptr && fqdn->tier == Tier::Fqdn) return postings(*fqdn);
  }
  const auto* hits = names_.find(key, probe.folded_hash_);
  return hits == nullptr ? std::span<const DeviceIndex>{} : postings(*hits);
}

std::optional<DeviceIndex> DeviceNameIndex::find_address(
    const grammar::ip::Address& address) const {
  const AddressSlot& slot = addresses_[address_slot(address)];
  if (!slot.used) return std::nullopt;
  return slot.device;
}

std::span<const DeviceIndex> DeviceNameIndex::user_devices(std::string_view login) const {
  const auto* hits = users_.find(login);
  return hits == nullptr ? std::span<const DeviceIndex>{} : postings(*hits);
}

}  // namespace postern::engine
