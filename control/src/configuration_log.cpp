// The audit log as Tailscale's ConfigurationAuditLog.
#include "postern/control/configuration_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "postern/control/actor.hpp"
#include "postern/control/api_access.hpp"
#include "postern/grammar/ascii.hpp"
#include "postern/grammar/time.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;
using nlohmann::json;

constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

bool contains_folded(std::string_view haystack, std::string_view needle) {
  return grammar::ascii_lowered(haystack).find(grammar::ascii_lowered(needle)) != std::string::npos;
}

json parse_details(const std::string& text) {
  json details = json::parse(text, nullptr, false);
  return details.is_object() ? details : json::object();
}

json actor_json(const std::string& name) {
  std::string type = "USER";
  if (name.rfind("integration:", 0) == 0) type = "AUTOMATED_WORKER";
  if (name.rfind("oauth", 0) == 0 || name.rfind("client:", 0) == 0) type = "OAUTH_CLIENT";
  const auto colon = name.find(':');
  const std::string login =
      name.rfind("admin:", 0) == 0 && colon != std::string::npos ? name.substr(colon + 1) : name;
  return {{"id", name}, {"type", type}, {"loginName", login}, {"displayName", login}};
}

// NODE.<CREATE|UPDATE|DELETE>.ATTRIBUTES from the per-key changes: all new keys create, all
// removed keys delete, anything else updates.
void attribute_change(const json& details, json& entry) {
  json old_values = json::object();
  json new_values = json::object();
  bool any_old = false;
  bool any_new = false;
  for (const auto& change : details.value("changes", json::array())) {
    const std::string key = change.value("key", "");
    if (change.contains("old")) {
      old_values[key] = change["old"];
      any_old = true;
    }
    if (change.contains("new")) {
      new_values[key] = change["new"];
      any_new = true;
    }
  }
  entry["action"] = !any_old ? "CREATE" : !any_new ? "DELETE" : "UPDATE";
  if (any_old) entry["old"] = std::move(old_values);
  if (any_new) entry["new"] = std::move(new_values);
  if (details.contains("comment")) entry["actionDetails"] = details["comment"];
}

// API keys and OAuth clients: Tailscale's API_KEY target, CREATE or REVOKE; Postern's words
// (which of the two kinds) stay in actionDetails.
bool credential_change(const sync::AuditEvent& event, json& entry) {
  const bool created = event.action == kActionCreateKey || event.action == kActionCreateClient;
  const bool revoked = event.action == kActionRevokeKey || event.action == kActionRevokeClient;
  if (!created && !revoked) return false;
  entry["target"] = {{"id", event.target}, {"name", event.target}, {"type", "API_KEY"}};
  entry["action"] = created ? "CREATE" : "REVOKE";
  entry["actionDetails"] = event.action;
  return true;
}

void integration_change(const sync::AuditEvent& event, const json& details, json& entry,
                        std::string_view tailnet_name) {
  const std::string provider = details.value("provider", event.target.substr(12));
  entry["target"] = {{"id", std::string(tailnet_name)},
                     {"name", std::string(tailnet_name)},
                     {"type", "TAILNET"},
                     {"property", "POSTURE_INTEGRATION"}};
  json settings = {{"provider", provider}};
  if (details.contains("url")) settings["cloudId"] = details["url"];
  if (event.action == sync::kActionCreate) {
    entry["action"] = "CREATE";
    entry["new"] = settings;
  } else if (event.action == sync::kActionUpdate) {
    entry["action"] = "UPDATE";
    if (details.contains("changed"))
      entry["actionDetails"] = "changed: " + details["changed"].dump();
    entry["new"] = settings;
  } else {
    entry["action"] = "DELETE";
    entry["old"] = settings;
  }
}

std::string event_name(const json& entry) {
  std::string name =
      entry["target"]["type"].get<std::string>() + "." + entry["action"].get<std::string>();
  if (entry["target"].contains("property")) {
    name += "." + entry["target"]["property"].get<std::string>();
  }
  return name;
}

bool actor_passes(const json& entry, const std::vector<std::string>& actors) {
  if (actors.empty()) return true;
  const auto& actor = entry["actor"];
  return std::any_of(actors.begin(), actors.end(), [&](const std::string& a) {
    if (!a.empty() && a[0] == '~') {
      return contains_folded(actor["loginName"].get<std::string>(), a.substr(1)) ||
             contains_folded(actor["displayName"].get<std::string>(), a.substr(1));
    }
    return actor["id"] == a;
  });
}

bool target_passes(const json& entry, const std::vector<std::string>& targets) {
  if (targets.empty()) return true;
  return std::any_of(targets.begin(), targets.end(), [&](const std::string& t) {
    for (const auto& [key, value] : entry["target"].items()) {
      if (value.is_string() && contains_folded(value.get<std::string>(), t)) return true;
    }
    return false;
  });
}

bool event_passes(const json& entry, const std::vector<std::string>& events) {
  if (events.empty()) return true;
  return std::find(events.begin(), events.end(), event_name(entry)) != events.end();
}

// The policy texts before and after each policy save, by the save's audit event id. Each save
// stores one version and one event in one transaction, so the k-th event is the k-th version.
struct PolicyTexts {
  std::string before;
  std::string after;
};

Outcome<std::map<std::int64_t, PolicyTexts>> policy_texts(const Tailnet& tailnet) {
  store::AuditQuery query;
  query.target = "policy";
  query.action = std::string(sync::kActionPolicy);
  auto events = tailnet.audit(query);
  if (!events) return events.error();
  auto history = tailnet.policy_history(std::numeric_limits<std::size_t>::max() / 2);
  if (!history) return history.error();
  auto versions = std::move(history.value());
  std::reverse(versions.begin(), versions.end());  // oldest first
  std::map<std::int64_t, PolicyTexts> out;
  const auto& saves = events.value();
  for (std::size_t k = 0; k < saves.size() && k < versions.size(); ++k) {
    if (saves[k].time != versions[k].time) break;  // not one-to-one: leave the rest out
    out[saves[k].id] =
        PolicyTexts{k > 0 ? versions[k - 1].text : std::string(kDefaultPolicy), versions[k].text};
  }
  return out;
}

// Tailscale's origin enum has no CLI or policy file: both configure the tailnet outside the
// console, as its API does. Postern's own origin stays in /v1 and `postern audit`.
std::string_view tailscale_origin(std::string_view origin) {
  if (origin.empty()) return kOriginControl;
  if (origin == kOriginCli || origin == kOriginFile) return kOriginApi;
  return origin;
}

}  // namespace

const std::vector<std::string>& configuration_event_names() {
  static const std::vector<std::string> kNames = {
      "TAILNET.UPDATE.ACL",
      "NODE.CREATE.ATTRIBUTES",
      "NODE.UPDATE.ATTRIBUTES",
      "NODE.DELETE.ATTRIBUTES",
      "TAILNET.CREATE.POSTURE_INTEGRATION",
      "TAILNET.UPDATE.POSTURE_INTEGRATION",
      "TAILNET.DELETE.POSTURE_INTEGRATION",
      "API_KEY.CREATE",
      "API_KEY.REVOKE",
      "TAILNET.UPDATE",
  };
  return kNames;
}

json configuration_entry(const sync::AuditEvent& event, std::string_view tailnet_name,
                         const std::string& old_policy, const std::string& new_policy) {
  const json details = parse_details(event.details);
  json entry = {{"eventTime", timefmt::format_rfc3339(event.time)},
                {"type", "CONFIG"},
                {"deferredAt", kZeroTime},
                {"eventGroupID", fmt::format("{:032x}", event.id)},
                {"origin", tailscale_origin(event.origin)},
                {"actor", actor_json(event.actor)}};
  if (event.action == sync::kActionPolicy) {
    entry["target"] = {{"id", std::string(tailnet_name)},
                       {"name", std::string(tailnet_name)},
                       {"type", "TAILNET"},
                       {"property", "ACL"}};
    entry["action"] = "UPDATE";
    if (!old_policy.empty()) entry["old"] = old_policy;
    if (!new_policy.empty()) entry["new"] = new_policy;
  } else if (event.action == sync::kActionNodeAttribute) {
    const std::string node =
        event.target.rfind("node:", 0) == 0 ? event.target.substr(5) : event.target;
    entry["target"] = {{"id", node},
                       {"name", details.value("name", node)},
                       {"type", "NODE"},
                       {"property", "ATTRIBUTES"}};
    attribute_change(details, entry);
  } else if (event.action == sync::kActionCreate || event.action == sync::kActionUpdate ||
             event.action == sync::kActionRemove) {
    integration_change(event, details, entry, tailnet_name);
  } else if (!credential_change(event, entry)) {
    // Events of other kinds keep their own words: Postern's action text as the details.
    entry["target"] = {{"id", event.target}, {"name", event.target}, {"type", "TAILNET"}};
    entry["action"] = "UPDATE";
    entry["actionDetails"] = event.action;
  }
  return entry;
}

Outcome<json> configuration_log(const Tailnet& tailnet, const ConfigurationLogQuery& query,
                                std::string_view tailnet_name) {
  if (query.end < query.start) {
    return invalid(DiagCode::C722, "`end` is before `start`");
  }
  const auto& names = configuration_event_names();
  for (const auto& e : query.events) {
    if (std::find(names.begin(), names.end(), e) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return invalid(DiagCode::C722, fmt::format("unknown event `{}`", e),
                     fmt::format("events are: {}", known));
    }
  }
  store::AuditQuery stored;
  stored.since = query.start;
  stored.until = query.end == std::numeric_limits<std::int64_t>::max() ? query.end : query.end + 1;
  auto events = tailnet.audit(stored);
  if (!events) return events.error();
  std::optional<std::map<std::int64_t, PolicyTexts>> texts;
  json logs = json::array();
  for (const auto& event : events.value()) {
    std::string before;
    std::string after;
    if (event.action == sync::kActionPolicy) {
      if (!texts) {
        auto loaded = policy_texts(tailnet);
        if (!loaded) return loaded.error();
        texts = std::move(loaded.value());
      }
      if (const auto it = texts->find(event.id); it != texts->end()) {
        before = it->second.before;
        after = it->second.after;
      }
    }
    json entry = configuration_entry(event, tailnet_name, before, after);
    if (actor_passes(entry, query.actors) && target_passes(entry, query.targets) &&
        event_passes(entry, query.events)) {
      logs.push_back(std::move(entry));
    }
  }
  return json{
      {"version", "1.1"}, {"tailnet", std::string(tailnet_name)}, {"logs", std::move(logs)}};
}

}  // namespace postern::control
