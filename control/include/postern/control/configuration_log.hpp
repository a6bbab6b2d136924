#pragma once
// The audit log in the shape of Tailscale's configuration audit log (spec tailscale-api.md §2.8,
// `ConfigurationAuditLog`): each stored event as {eventTime, type: CONFIG, eventGroupID, origin,
// actor, target, action, old, new, actionDetails}. Policy saves are TAILNET.UPDATE.ACL with the
// policy text before and after, attribute changes NODE.<CREATE|UPDATE|DELETE>.ATTRIBUTES with the
// values before and after and the change's comment, integration changes
// TAILNET.<CREATE|UPDATE|DELETE>.POSTURE_INTEGRATION.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "postern/control/outcome.hpp"
#include "postern/control/tailnet.hpp"

namespace postern::control {

struct ConfigurationLogQuery {
  std::int64_t start = 0;  // Unix seconds, inclusive
  std::int64_t end = 0;    // Unix seconds, inclusive
  // Any of these actor ids, or `~text`: text found (any case) in the login or display name.
  std::vector<std::string> actors;
  std::vector<std::string> targets;  // text found in the target's id, name, type or property
  std::vector<std::string> events;   // `TYPE.ACTION[.PROPERTY]`, e.g. NODE.UPDATE.ATTRIBUTES
};

// The event names this log produces (for `event=` and its error message).
const std::vector<std::string>& configuration_event_names();

// One stored event as a ConfigurationAuditLog; `old_policy`/`new_policy` are the policy texts
// around a policy save (empty: unknown, left out).
nlohmann::json configuration_entry(const sync::AuditEvent& event, std::string_view tailnet_name,
                                   const std::string& old_policy = {},
                                   const std::string& new_policy = {});

// {"version": "1.1", "tailnet": name, "logs": [...]}: the events of [start, end] that pass every
// filter kind (any value of a kind), oldest first. An unknown event name, or end before start, is
// an Invalid error; a tailnet without a store has no log (NotFound).
Outcome<nlohmann::json> configuration_log(const Tailnet& tailnet,
                                          const ConfigurationLogQuery& query,
                                          std::string_view tailnet_name);

}  // namespace postern::control
