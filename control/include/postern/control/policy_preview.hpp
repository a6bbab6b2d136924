#pragma once
// Tailscale's policy preview (spec tailscale-api.md §2.4, `POST .../acl/preview`): for a proposed
// policy, which rules apply to one user (type=user: the rules whose `src` names them, with their
// destinations) or which rules let anyone reach one `IP:port` (type=ipport: the rules whose
// `dst` covers it, with their sources). Each match carries the rule's line and the postures its
// sources must pass (its own `srcPosture`, else `defaultSrcPosture`).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/control/outcome.hpp"
#include "postern/engine/inventory.hpp"

namespace postern::control {

enum class PreviewType : std::uint8_t { User, IpPort };

// "user" or "ipport"; nullopt for anything else.
std::optional<PreviewType> parse_preview_type(std::string_view text);
std::string_view preview_type_name(PreviewType type);

struct PreviewMatch {
  std::vector<std::string> users;     // the rule's sources as written
  std::vector<std::string> ports;     // its destinations as written (`dst:ports`)
  std::uint32_t line_number = 0;      // 1-based line of the rule in the policy text
  std::vector<std::string> postures;  // posture names its sources must pass
  std::vector<std::string> via;       // a grant's `via`
};

struct PolicyPreview {
  PreviewType type = PreviewType::User;
  std::string preview_for;
  std::vector<PreviewMatch> matches;  // in policy order: acls, then grants
  // Every posture a match names -> its conditions as written.
  std::map<std::string, std::vector<std::string>> postures;
};

// Parses and validates `text` against `inventory` (its users' roles, its devices' addresses and
// tags) and previews it. An invalid policy, an empty `preview_for` or a malformed `IP:port` is
// an Invalid error; a policy error's message starts with `line L, column C: `.
Outcome<PolicyPreview> preview_policy(std::string text, PreviewType type,
                                      std::string_view preview_for,
                                      const engine::Inventory& inventory);

}  // namespace postern::control
