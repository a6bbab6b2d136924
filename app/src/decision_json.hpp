#pragma once
// JSON shapes of query answers, shared by `postern check --format json`, `postern filter` and the
// HTTP server, so a decision reads the same wherever it comes from.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "postern/control/query.hpp"
#include "postern/engine/engine.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {

// {"rule": "acls[1]", "file": "policy.hujson", "line": 12}
nlohmann::json rule_json(const grammar::SourceFile& file, const engine::RuleRef& rule);

// A rule that would have accepted but for posture: rule_json plus "gate" and
// "postures": [{"posture", "failed": [{"condition", "attribute", "expected", "actual"}]}]
// ("actual": null when the attribute is unset or expired).
nlohmann::json near_miss_json(const grammar::SourceFile& file, const engine::NearMiss& near_miss);

// One answer: {"decision": "accept"|"deny", "src", "dst", "proto", "port", "rule"?, "reason"?,
// "postureFailures"?}. postureFailures is present on a deny when `explain` is set.
nlohmann::json decision_json(const grammar::SourceFile& file, const engine::Decision& decision,
                             const std::string& src_label, const std::string& dst_label,
                             std::uint8_t proto, std::uint16_t port, bool explain);

// One answer of a batch, `postern check --batch --format json` and POST /v1/check/batch alike:
// {"decision", "allow", "rule"?, "postureFailures"? (a deny that asked for explain)}, or
// {"error": {"code", "message"}} in place of a query that could not be answered.
nlohmann::json batch_answer_json(const grammar::SourceFile& file,
                                 const control::BatchChecker::Answer& answer);

// tailcfg FilterRules: [{"SrcIPs", "DstPorts": [{"IP", "Ports": {"First", "Last"}}], "IPProto"?}]
nlohmann::json filter_rules_json(const std::vector<engine::FilterRule>& rules);

// {"node": {"id", "nodeId", "name"}, "rules": filter_rules_json} — `postern filter` and
// GET /v1/filter/{node} alike.
nlohmann::json node_filter_json(const engine::Snapshot& snapshot, engine::DeviceIndex device,
                                const std::vector<engine::FilterRule>& rules);

// "tcp", "udp", "icmp", "ipv6-icmp", "sctp", else "proto N".
std::string proto_label(std::uint8_t proto);

}  // namespace postern::app
