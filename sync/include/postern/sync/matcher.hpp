#pragma once
// Matching provider devices to tailnet nodes by serial number (spec kandji.md §2.5, §3.5).
//
// Rules (docs/semantics.md#sync):
// * a node matches a provider device when any of its usable serials equals the device's;
// * several provider records with one serial: the freshest `last_seen` wins; equal freshness with
//   different attribute values makes the serial ambiguous;
// * one serial on several nodes, or one node matching several different devices: ambiguous;
// * ambiguous nodes are reported and left untouched (neither set nor cleared);
// * nodes without consent (postureIdentity.disabled) or without usable serials get nothing.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/sync/provider.hpp"

namespace postern::sync {

// Attribute values as the inventory file gives them.
using FileValues = std::map<std::string, engine::AttrValue, std::less<>>;

struct TailnetNode {
  std::string key;   // store key: nodeId, else id
  std::string name;  // hostname, for audit details
  std::vector<std::string> serials;
  bool posture_disabled = false;
  // The inventory file's own attribute values (not the store's): a provider key found here was
  // written by Tailscale's integration, and a sync must mask it when it no longer holds.
  FileValues file_attributes;
};

// Nodes from a loaded inventory.
std::vector<TailnetNode> tailnet_nodes(const engine::Inventory& inventory);
// The store key of an inventory device (nodeId, else id).
std::string device_key(const engine::Device& device);

enum class MatchOutcome { Matched, Unmatched, Ambiguous, NoConsent, NoSerial };

struct NodeMatch {
  MatchOutcome outcome = MatchOutcome::Unmatched;
  std::map<std::string, AttrValue> desired;  // set when Matched
};

struct MatchResult {
  std::vector<NodeMatch> nodes;  // parallel to the input nodes
  std::size_t matched = 0;
  std::size_t possible_matched = 0;  // nodes with at least one usable serial (and consent)
  std::vector<std::string> ambiguous_serials;  // sorted, unique
};

MatchResult match_devices(const std::vector<TailnetNode>& nodes,
                          const std::vector<ProviderDevice>& devices);

}  // namespace postern::sync
