// DeviceNameIndex: the tiers of find_devices as hash lookups, built once per compiled policy.
#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>

#include "device_naming.hpp"
#include "postern/engine/query.hpp"

namespace postern::engine {
namespace {

char lower_char(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Appends the lowercase `text` to `arena` (reserved up front, so earlier views stay valid).
std::string_view fold_into(std::string& arena, std::string_view text) {
  const std::size_t begin = arena.size();
  for (const char c : text) arena.push_back(lower_char(c));
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
  if (slots_.empty()) return nullptr;
  const Slot& slot = slots_[slot_of(key, std::hash<std::string_view>{}(key))];
  return slot.used ? &slot.hits : nullptr;
}

void DeviceNameIndex::NameMap::prefetch(std::string_view key) const noexcept {
  if (slots_.empty()) return;
  __builtin_prefetch(&slots_[std::hash<std::string_view>{}(key) & (slots_.size() - 1)]);
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
  const std::size_t mask = addresses_.size() - 1;
  std::size_t i = AddressHash{}(address)&mask;
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

// Hashing the lowercase form needs a lowercase copy only for a name with capitals.
void DeviceNameIndex::prefetch(std::string_view name) const noexcept {
  if (name.empty()) return;
  ids_.prefetch(name);
  if (const auto address = grammar::ip::parse_address(name)) {
    if (!addresses_.empty()) {
      __builtin_prefetch(&addresses_[AddressHash{}(*address) & (addresses_.size() - 1)]);
    }
    return;
  }
  const bool has_capitals =
      std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!has_capitals) return names_.prefetch(name);
  std::string key(name);
  for (auto& c : key) c = lower_char(c);
  names_.prefetch(key);
}

std::span<const DeviceIndex> DeviceNameIndex::find(std::string_view name) const {
  if (name.empty()) return {};
  if (const auto* hits = ids_.find(name)) return postings(*hits);

  std::string_view bare = name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (const auto address = grammar::ip::parse_address(bare)) {
    const AddressSlot& slot = addresses_[address_slot(*address)];
    return slot.used ? std::span<const DeviceIndex>(&slot.device, 1)
                     : std::span<const DeviceIndex>{};
  }

  std::string key(name);
  for (auto& c : key) c = lower_char(c);
  // `x.` is the FQDN `x` written absolute; as a hostname or label it keeps its dot.
  if (key.back() == '.') {
    const auto stripped = std::string_view(key).substr(0, key.size() - 1);
    const auto* fqdn = !stripped.empty() && stripped.back() == '.' ? dotted_fqdns_.find(stripped)
                                                                   : names_.find(stripped);
    if (fqdn != nullptr && fqdn->tier == Tier::Fqdn) return postings(*fqdn);
  }
  const auto* hits = names_.find(key);
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
