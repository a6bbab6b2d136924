// Checks on `sshTests` destinations and `nodeAttrs` entries, with Tailscale's messages
// (spec policy-language.md §6.5, §9).
#include <algorithm>
#include <array>

#include "validate_detail.hpp"

namespace postern::engine::detail {

using g::DiagCode;
namespace ip = g::ip;

namespace {

// Addresses Tailscale keeps for itself: 100.100.100.0/24 (its service address 100.100.100.100)
// and 100.115.92.0/23 (ChromeOS's VM range, excluded from tailnet addressing).
bool overlaps_reserved(const ip::Prefix& pool) {
  static const std::array<ip::Prefix, 2> kReserved = {
      *ip::parse_prefix("100.100.100.0/24"), *ip::parse_prefix("100.115.92.0/23")};
  return std::any_of(kReserved.begin(), kReserved.end(), [&](const ip::Prefix& r) {
    return ip::contains(r, pool.address) || ip::contains(pool, r.address);
  });
}

}  // namespace

// Tailscale rejects these before running any test (they are not test failures).
void Validator::ssh_tests() {
  for (const auto& test : ast_.ssh_tests) {
    for (const auto& d : test.dst) {
      const auto& v = d.value;
      if (v == "autogroup:internet" || v.find('/') != std::string::npos) {
        error(DiagCode::V328, d.span, "SSH tests dst contains disallowed element \"" + v + "\"",
              "sshTests destinations are tags, users, host aliases or IPv4 addresses of devices");
      } else if (v.starts_with("tag:") && !ast_.tag_owners.contains(v)) {
        error(DiagCode::V328, d.span, "SSH tests dst contains unknown tag \"" + v + "\"",
              v.find(':', 4) != std::string::npos
                  ? "sshTests destinations take no port; write the tag alone"
                  : "declare the tag in `tagOwners`");
      }
    }
  }
}

void Validator::node_attr_target(const pol::Text& target) {
  const auto& v = target.value;
  if (v == "*" || v.find('@') != std::string::npos) return;
  if (v.starts_with("tag:")) {
    check_tag_ref(target, "");
  } else if (v.starts_with("group:")) {
    check_group_ref(target);
  } else if (v.starts_with("autogroup:")) {
    if (v == "autogroup:member" || v == "autogroup:tagged" || is_role_autogroup(v)) return;
    error(DiagCode::V329, target.span, "\"" + v + "\" cannot be a nodeAttrs target",
          "nodeAttrs targets are `*`, users, groups, tags, autogroup:member, autogroup:tagged, "
          "role autogroups, host aliases or IP addresses (Tailscale answers autogroup:self here "
          "with an internal server error)");
  } else if (!ast_.hosts.contains(v) && !ip::parse_prefix(v)) {
    error(DiagCode::V329, target.span, "\"" + v + "\": invalid address",
          "nodeAttrs targets are `*`, users, groups, tags, autogroups, host aliases or IP "
          "addresses");
  }
}

void Validator::node_attrs() {
  for (const auto& entry : ast_.node_attrs) {
    for (const auto& target : entry.target) node_attr_target(target);
    for (const auto& attr : entry.attr) {
      if (attr.value.empty()) {
        error(DiagCode::V329, attr.span, "nodeAttrs attr values cannot be empty");
      }
    }
    for (const auto& pool : entry.ip_pool) {
      const auto prefix = ip::parse_prefix(pool.value);
      if (!prefix) {
        error(DiagCode::V329, pool.span, "IPPool(" + pool.value + "): invalid CIDR",
              "write an IPv4 prefix such as `100.80.0.0/16`");
      } else if (overlaps_reserved(*prefix)) {
        error(DiagCode::V329, pool.span,
              "IPPool(" + pool.value + "): network within reserved range",
              "Tailscale reserves 100.100.100.0/24 and 100.115.92.0/23; pick another prefix of "
              "100.64.0.0/10");
      }
    }
  }
}

}  // namespace postern::engine::detail
