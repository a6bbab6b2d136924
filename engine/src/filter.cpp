// Snapshot::filter_for: the tailcfg.FilterRule list control would send to one node (spec §7.6),
// with posture-failing source nodes left out of SrcIPs.
#include <algorithm>
#include <optional>

#include "compiled.hpp"

namespace postern::engine {
namespace ip = grammar::ip;

namespace {

bool overlaps_text(const detail::AddrSet& route, const std::string& text) {
  if (auto p = ip::parse_prefix(text)) return route.overlaps(*p);
  if (auto r = ip::parse_range(text)) return route.contains(r->first) || route.contains(r->last);
  return false;
}

// SrcIPs of rule `ri` as delivered to `node`: the addresses of source nodes that pass the rule's
// posture (spec §7.6), plus its non-node sources (literal prefixes, approved routes), from which
// the addresses of posture-failing nodes are carved out — a node named by IP or CIDR is still
// posture-checked (spec §5.7), exactly as check() does.
std::vector<std::string> src_ips_for(const SnapshotData& data, std::size_t ri, DeviceIndex node) {
  const CompiledPolicy& cp = *data.policy;
  const auto& r = cp.rules[ri];
  const bool gated = r.posture_list >= 0;
  if (r.src_any_address && !gated && !r.dst_self) return {"*"};
  // An ungated `*` is its address list as is: nodes, shared-in nodes and routes alike.
  if (r.src_all_devices && !gated && !r.dst_self) return r.src_addrs.to_strings();

  std::vector<ip::Address> passing;
  detail::AddrSet failing;
  for (std::size_t index = 0; index < cp.slots.size(); ++index) {
    const auto& slot = cp.slots[index];
    if (!test_bit(cp.src_class_rows[slot.src_class], ri)) continue;
    const auto& st = data.chunks[slot.device / kChunk]->states[slot.device % kChunk];
    const bool passes = test_bit(*st.pok_row, ri);
    if (passes && r.dst_self) {
      const auto owner = cp.device_owner[slot.device];
      if (owner == CompiledPolicy::kNoOwner || owner != cp.device_owner[node]) continue;
    }
    // The slot's address: find it among the device's addresses via the index.
    for (const auto& a : cp.inventory.devices[slot.device].addresses) {
      if (cp.slot_index.find(a) != index) continue;
      if (passes) {
        passing.push_back(a);
      } else {
        failing.add(ip::host_prefix(a));
      }
    }
  }
  // autogroup:self admits owned devices only: no literal part.
  detail::AddrSet literal;
  if (!r.dst_self) {
    literal = r.src_any_address   ? detail::all_addresses()  // autogroup:danger-all
              : r.src_all_devices ? cp.all_routes            // `*`: nodes are listed one by one
                                  : r.src_addrs;
    literal.remove(failing);
  }
  if (r.src_any_address && failing.empty()) return {"*"};

  std::sort(passing.begin(), passing.end());
  passing.erase(std::unique(passing.begin(), passing.end()), passing.end());
  std::vector<std::string> out;
  for (const auto& a : passing) {
    if (!literal.contains(a)) out.push_back(ip::to_string(a));  // else the prefix covers it
  }
  for (auto& text : literal.to_strings()) out.push_back(std::move(text));
  return out;
}

}  // namespace

std::vector<FilterRule> Snapshot::filter_for(DeviceIndex node) const {
  const SnapshotData& data = *data_;
  const CompiledPolicy& cp = *data.policy;
  std::vector<FilterRule> out;
  if (node >= cp.inventory.devices.size()) return out;
  const Device& dev = cp.inventory.devices[node];
  // Every device address of the tailnet, built on first use.
  std::optional<detail::AddrSet> all_devices;
  auto device_addresses = [&]() -> const detail::AddrSet& {
    if (!all_devices) {
      all_devices.emplace();
      for (const auto& d : cp.inventory.devices) {
        for (const auto& a : d.addresses) all_devices->add(ip::host_prefix(a));
      }
    }
    return *all_devices;
  };
  // This node's slots, in address order.
  std::vector<std::pair<std::uint32_t, ip::Address>> node_slots;
  for (const auto& a : dev.addresses) {
    const auto s = cp.slot_index.find(a);
    if (s != SlotIndex::kNone && cp.slots[s].device == node) node_slots.emplace_back(s, a);
  }
  for (std::size_t ri = 0; ri < cp.rules.size(); ++ri) {
    const auto& r = cp.rules[ri];
    std::vector<std::string> dst_ips;
    if (!r.has_via) {
      if (r.dst_all_devices) {
        dst_ips.push_back("*");
      } else {
        for (const auto& [s, a] : node_slots) {
          if (test_bit(cp.dst_class_rows[cp.slots[s].dst_class], ri)) {
            dst_ips.push_back(ip::to_string(a));
          }
        }
      }
    }
    if ((!r.dst_all_devices || r.has_via) && !r.dst_self) {
      // Routed destinations: the rule's own prefixes that fall inside this node's routes.
      detail::AddrSet mine;
      for (const auto& route : dev.enabled_routes) mine.add(route);
      if (!mine.empty() && r.has_via) {
        // A `via` grant reaches exactly the destinations routed by a node of its `via` tags
        // (`*` included), never a device's own address (check.cpp dst_ok).
        detail::AddrSet routed = r.dst_addrs;
        routed.retain(mine);
        routed.retain(r.via_routes);
        routed.remove(device_addresses());
        for (auto& text : routed.to_strings()) dst_ips.push_back(std::move(text));
      } else if (!mine.empty()) {
        // As written in the policy, like Tailscale's DstPorts.
        for (const auto& text : r.dst_addrs.to_strings()) {
          if (overlaps_text(mine, text)) dst_ips.push_back(text);
        }
      }
    }
    if (dst_ips.empty()) continue;

    FilterRule fr;
    fr.src_ips = src_ips_for(data, ri, node);
    if (fr.src_ips.empty()) continue;
    for (const auto& d : dst_ips) {
      for (const auto& p : r.ports)
        fr.dst_ports.push_back(NetPortRange{d, PortRange{p.first, p.last}});
    }
    if (!r.default_protos) fr.ip_proto.push_back(r.proto);
    out.push_back(std::move(fr));
  }
  return out;
}

}  // namespace postern::engine
