// Checks on posture definitions and references (spec policy-language.md §5.1-§5.6, §9): names,
// empty postures, ordering operators, attribute namespaces and literal types.
#include <array>
#include <map>
#include <set>
#include <utility>

#include "validate_detail.hpp"

namespace postern::engine {

bool is_known_attribute_namespace(std::string_view ns) {
  static constexpr std::array<std::string_view, 12> kNamespaces = {
      "node",  "ip",          "custom",   "falcon", "sentinelOne", "kolide",
      "fleet", "fleetPolicy", "huntress", "kandji", "jamfPro",     "intune"};
  for (const auto known : kNamespaces) {
    if (ns == known) return true;
  }
  return false;
}

namespace detail {

using g::DiagCode;
namespace posture = postern::grammar::posture;

namespace {

enum class LitType { String, Number, Bool };

std::string_view type_name(LitType t) {
  switch (t) {
    case LitType::String:
      return "a string";
    case LitType::Number:
      return "a number";
    case LitType::Bool:
      return "a boolean";
  }
  return "a value";
}

LitType type_of(const posture::Literal& literal) {
  if (std::holds_alternative<std::string>(literal.value)) return LitType::String;
  if (std::holds_alternative<double>(literal.value)) return LitType::Number;
  return LitType::Bool;
}

// Value types of the documented attributes (spec §5.1); versions are strings.
std::optional<LitType> known_type(std::string_view attribute) {
  struct Entry {
    std::string_view key;
    LitType type;
  };
  static constexpr std::array<Entry, 32> kTypes = {{
      {"node:os", LitType::String},
      {"node:osVersion", LitType::String},
      {"node:tsVersion", LitType::String},
      {"node:tsReleaseTrack", LitType::String},
      {"node:tsAutoUpdate", LitType::Bool},
      {"node:tsStateEncrypted", LitType::Bool},
      {"ip:country", LitType::String},
      {"ip:publicAddress", LitType::String},
      {"falcon:ztaScore", LitType::Number},
      {"sentinelOne:operationalState", LitType::String},
      {"sentinelOne:activeThreats", LitType::Number},
      {"sentinelOne:agentVersion", LitType::String},
      {"sentinelOne:encryptedApplications", LitType::Bool},
      {"sentinelOne:firewallEnabled", LitType::Bool},
      {"sentinelOne:infected", LitType::Bool},
      {"kolide:authState", LitType::String},
      {"fleet:present", LitType::Bool},
      {"huntress:defenderStatus", LitType::String},
      {"huntress:defenderPolicyStatus", LitType::String},
      {"huntress:firewallStatus", LitType::String},
      {"kandji:mdmEnabled", LitType::Bool},
      {"kandji:agentInstalled", LitType::Bool},
      {"jamfPro:remoteManaged", LitType::Bool},
      {"jamfPro:supervised", LitType::Bool},
      {"jamfPro:firewallEnabled", LitType::Bool},
      {"jamfPro:fileVaultStatus", LitType::String},
      {"jamfPro:SIPEnabled", LitType::String},
      {"intune:complianceState", LitType::String},
      {"intune:azureADRegistered", LitType::Bool},
      {"intune:deviceRegistrationState", LitType::String},
      {"intune:isSupervised", LitType::Bool},
      {"intune:isEncrypted", LitType::Bool},
  }};
  for (const auto& entry : kTypes) {
    if (entry.key == attribute) return entry.type;
  }
  if (attribute.starts_with("fleetPolicy:")) return LitType::Bool;
  if (attribute == "intune:managedDeviceOwnerType") return LitType::String;
  return std::nullopt;
}

bool is_ordering(posture::Op op) {
  return op == posture::Op::Lt || op == posture::Op::Le || op == posture::Op::Gt ||
         op == posture::Op::Ge;
}

struct FirstUse {
  LitType type;
  g::Span span;
  std::string posture;
};

}  // namespace

void Validator::postures() {
  std::set<std::string> warned_namespaces;
  std::map<std::string, FirstUse> first_use;  // attribute -> first typed use
  for (const auto& [name, def] : ast_.postures) {
    const std::string where = "postures[\"" + name + "\"]";
    if (!name.starts_with("posture:") || name.size() == 8) {
      error(DiagCode::V316, def.name.span, where + ": posture names must start with \"posture:\"",
            "rename it `posture:" + name + "` and refer to it by that name");
    }
    if (def.entries == 0) {
      error(DiagCode::V317, def.span, where + ": a posture needs at least one condition",
            "an empty posture would admit every device; add a condition such as "
            "`node:os == 'macos'`, or remove the posture");
    }
    for (const auto& c : def.conditions) {
      if (!is_known_attribute_namespace(c.ns) && warned_namespaces.insert(c.ns).second) {
        warning(DiagCode::V324, c.attribute_span, "unknown attribute namespace `" + c.ns + "`",
                "known namespaces: node, ip, custom, falcon, sentinelOne, kolide, fleet, "
                "fleetPolicy, huntress, kandji, jamfPro, intune; check the spelling "
                "(namespaces are case-sensitive)");
      }
      if (is_ordering(c.op)) {
        const bool numeric =
            !c.operands.empty() && std::holds_alternative<double>(c.operands.front().value);
        const bool version = !c.operands.empty() &&
                             std::holds_alternative<std::string>(c.operands.front().value) &&
                             posture::is_version_attribute(c.attribute);
        if (!numeric && !version) {
          error(DiagCode::V318, c.op_span,
                "operator `" + std::string(posture::op_spelling(c.op)) +
                    "` is only valid for numbers and versions",
                "`" + c.attribute +
                    "` is not a version attribute (node:osVersion, node:tsVersion, "
                    "sentinelOne:agentVersion); compare it with `==`, `!=` or `IN`");
        }
      }
      // Literal types: against the documented type, then against earlier uses of the key.
      std::vector<std::pair<LitType, g::Span>> uses;
      if (c.op == posture::Op::Bare) uses.emplace_back(LitType::Bool, c.span);
      for (const auto& literal : c.operands) uses.emplace_back(type_of(literal), literal.span);
      const auto expected = known_type(c.attribute);
      for (const auto& [type, span] : uses) {
        if (expected && *expected != type) {
          warning(DiagCode::V326, span,
                  "`" + c.attribute + "` is " + std::string(type_name(*expected)) +
                      ", but is compared with " + std::string(type_name(type)),
                  "a comparison between different types is never true");
          continue;
        }
        auto [it, inserted] = first_use.try_emplace(c.attribute, FirstUse{type, span, name});
        if (!inserted && it->second.type != type) {
          auto diag = g::make_warning(
              DiagCode::V326, span,
              "`" + c.attribute + "` is compared with " + std::string(type_name(type)) +
                  " here but with " + std::string(type_name(it->second.type)) + " in `" +
                  it->second.posture + "`",
              "an attribute has one type across the tailnet; one of these comparisons is never "
              "true");
          diag.related.push_back(g::Label{it->second.span, "first compared here"});
          add(std::move(diag));
        }
      }
    }
  }
}

void Validator::posture_refs(const std::optional<std::vector<pol::Text>>& refs,
                             std::string_view where, g::Span rule_span) {
  if (!refs) return;
  const bool is_default = where == "defaultSrcPosture";
  const auto leaf = is_default ? std::string("defaultSrcPosture") : std::string("srcPosture");
  if (refs->empty() && !is_default) {
    warning(DiagCode::V325, rule_span,
            std::string(where) + " is empty: this rule has no posture requirement",
            "an empty `srcPosture` also turns off `defaultSrcPosture` for this rule; remove the "
            "key to apply the default, or list the postures to require");
  }
  for (const auto& ref : *refs) {
    if (ast_.postures.contains(ref.value)) continue;
    error(DiagCode::V305, ref.span, leaf + ": posture \"" + ref.value + "\" not found",
          ref.value.starts_with("posture:")
              ? "define it under `postures`"
              : "posture names start with `posture:`, e.g. `posture:" + ref.value + "`");
  }
}

}  // namespace detail
}  // namespace postern::engine
