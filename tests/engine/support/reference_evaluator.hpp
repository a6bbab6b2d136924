#pragma once
// A deliberately simple evaluator of spec policy-language.md §3-§7 for tests: for every query it
// walks the policy AST and the inventory from scratch. Written for obviousness, not speed, and
// independently of the engine's compiler (it shares only the AST, the inventory model and IP
// parsing), so that differential tests can hold the two against each other.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/grammar/ip.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::test {

using RefAttrs = std::map<std::string, engine::AttrValue>;

struct RefQuery {
  grammar::ip::Address src;
  grammar::ip::Address dst;
  std::uint8_t proto = 6;  // IANA number; 1 and 58 are ICMP echo
  std::uint16_t port = 0;
  // Replaces the source device's attributes (and ignores its expiries), like srcPostureAttrs.
  const RefAttrs* src_attrs = nullptr;
  std::int64_t now = 0;  // attributes whose expiry is <= now are unset
};

class ReferenceEvaluator {
 public:
  // Both must outlive the evaluator.
  ReferenceEvaluator(const grammar::policy::Ast& ast, const engine::Inventory& inventory);

  [[nodiscard]] bool allowed(const RefQuery& query) const;

  // The single pieces, exposed for focused tests.
  [[nodiscard]] bool posture_holds(const std::string& posture, const RefAttrs& attrs) const;
  [[nodiscard]] const engine::Device* device_at(const grammar::ip::Address& address) const;

 private:
  // One destination of a rule with the protocol and ports it opens.
  struct Target {
    const grammar::policy::Selector* selector;
    std::optional<std::uint8_t> proto;  // nullopt = TCP, UDP, ICMPv4, ICMPv6
    std::vector<grammar::policy::PortRange> ports;
  };
  // An ACL entry or a grant, in one shape (spec §4: an ACL is one grant per destination).
  struct Rule {
    const std::vector<grammar::policy::Selector>* src;
    const std::optional<std::vector<grammar::policy::Text>>* src_posture;
    std::vector<Target> targets;
    const std::vector<grammar::policy::Text>* via;  // grants only
  };

  [[nodiscard]] bool source_matches(const grammar::policy::Selector& selector,
                                    const grammar::ip::Address& address) const;
  enum class Side : std::uint8_t { Source, Destination };
  [[nodiscard]] bool selector_contains(const grammar::policy::Selector& selector,
                                       const grammar::ip::Address& address, Side side) const;
  [[nodiscard]] bool self_matches(const grammar::ip::Address& src,
                                  const grammar::ip::Address& dst) const;
  [[nodiscard]] bool ipset_contains(const std::string& name, const grammar::ip::Address& address,
                                    int depth) const;
  [[nodiscard]] bool ipset_target_contains(std::string_view target,
                                           const grammar::ip::Address& address, int depth) const;
  [[nodiscard]] bool in_approved_route(const grammar::ip::Address& address,
                                       bool with_exit_routes) const;
  [[nodiscard]] bool via_allows(const Rule& rule, const grammar::ip::Address& dst) const;
  [[nodiscard]] bool source_passes_posture(const Rule& rule, const RefQuery& query) const;
  [[nodiscard]] RefAttrs effective_attributes(const engine::Device& device,
                                              const RefQuery& query) const;

  const grammar::policy::Ast& ast_;
  const engine::Inventory& inventory_;
  std::vector<Rule> rules_;
  // Tailscale's default policy, `*` -> `*:*`, for a file with neither acls nor grants.
  std::vector<grammar::policy::Selector> default_src_;
  std::optional<std::vector<grammar::policy::Text>> default_no_posture_;
};

// Tailscale's cmpver (spec §5.5), restated here on purpose rather than shared with the engine:
// negative, zero or positive like strcmp.
int reference_compare_versions(std::string_view a, std::string_view b);

// One posture condition against a value (nullptr = unset), spec §5.4.
bool reference_condition_holds(const grammar::posture::Condition& condition,
                               const engine::AttrValue* value);

}  // namespace postern::test
