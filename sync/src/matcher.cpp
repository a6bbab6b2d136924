#include "postern/sync/matcher.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "postern/sync/serial.hpp"

namespace postern::sync {

std::string device_key(const engine::Device& device) {
  return device.node_id.empty() ? device.id : device.node_id;
}

std::vector<TailnetNode> tailnet_nodes(const engine::Inventory& inventory) {
  std::vector<TailnetNode> nodes;
  nodes.reserve(inventory.devices.size());
  for (const auto& device : inventory.devices) {
    TailnetNode node;
    node.key = device_key(device);
    node.name = device.hostname.empty() ? device.name : device.hostname;
    node.serials = device.serial_numbers;
    node.posture_disabled = device.identity_collection_disabled;
    node.file_attributes = device.attributes;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

namespace {

constexpr std::size_t kAmbiguous = static_cast<std::size_t>(-1);

// Serial -> index of the device that speaks for it, or kAmbiguous.
std::unordered_map<std::string, std::size_t> index_devices(
    const std::vector<ProviderDevice>& devices, std::set<std::string>& ambiguous) {
  std::unordered_map<std::string, std::size_t> by_serial;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    for (const auto& serial : usable_serials(devices[i].serials)) {
      auto [it, inserted] = by_serial.try_emplace(serial, i);
      if (inserted || it->second == kAmbiguous) continue;
      const ProviderDevice& held = devices[it->second];
      const auto held_seen = held.last_seen.value_or(0);
      const auto new_seen = devices[i].last_seen.value_or(0);
      if (new_seen > held_seen) {
        it->second = i;  // the fresher record (re-enrolment leaves an old one behind)
      } else if (new_seen == held_seen && held.attributes != devices[i].attributes) {
        if (held.managed != devices[i].managed) {
          // Spec kandji.md §2.5: on a tie, the record with mdm_enabled=true.
          if (devices[i].managed) it->second = i;
        } else {
          it->second = kAmbiguous;  // equally fresh and disagreeing: no order may decide
          ambiguous.insert(serial);
        }
      }
    }
  }
  return by_serial;
}

}  // namespace

MatchResult match_devices(const std::vector<TailnetNode>& nodes,
                          const std::vector<ProviderDevice>& devices) {
  std::set<std::string> ambiguous;
  const auto by_serial = index_devices(devices, ambiguous);

  std::vector<std::vector<std::string>> node_serials(nodes.size());
  std::unordered_map<std::string, std::size_t> claims;  // serial -> number of nodes reporting it
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].posture_disabled) continue;
    node_serials[n] = usable_serials(nodes[n].serials);
    for (const auto& serial : node_serials[n]) ++claims[serial];
  }

  MatchResult result;
  result.nodes.resize(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    NodeMatch& match = result.nodes[n];
    if (nodes[n].posture_disabled) {
      match.outcome = MatchOutcome::NoConsent;
      continue;
    }
    if (node_serials[n].empty()) {
      match.outcome = MatchOutcome::NoSerial;
      continue;
    }
    ++result.possible_matched;
    std::set<std::size_t> hits;
    bool unclear = false;
    for (const auto& serial : node_serials[n]) {
      const auto it = by_serial.find(serial);
      if (it == by_serial.end()) continue;
      if (it->second == kAmbiguous) {
        unclear = true;
        continue;
      }
      if (claims[serial] > 1) {  // a cloned or re-registered serial: which node is it?
        ambiguous.insert(serial);
        unclear = true;
        continue;
      }
      hits.insert(it->second);
    }
    if (hits.size() > 1) {
      for (const auto& serial : node_serials[n]) {
        if (by_serial.count(serial) != 0) ambiguous.insert(serial);
      }
      unclear = true;
    }
    if (unclear) {
      match.outcome = MatchOutcome::Ambiguous;
    } else if (hits.size() == 1) {
      match.outcome = MatchOutcome::Matched;
      match.desired = devices[*hits.begin()].attributes;
      ++result.matched;
    } else {
      match.outcome = MatchOutcome::Unmatched;
    }
  }
  result.ambiguous_serials.assign(ambiguous.begin(), ambiguous.end());
  return result;
}

}  // namespace postern::sync
