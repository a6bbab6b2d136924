#include "decision_json.hpp"

#include <variant>

#include "postern/control/attribute_json.hpp"

namespace postern::app {

nlohmann::json rule_json(const grammar::SourceFile& file, const engine::RuleRef& rule) {
  return {{"rule", engine::rule_name(rule)}, {"file", file.path()}, {"line", rule.line}};
}

nlohmann::json near_miss_json(const grammar::SourceFile& file, const engine::NearMiss& near_miss) {
  nlohmann::json postures = nlohmann::json::array();
  for (const auto& pf : near_miss.postures) {
    nlohmann::json conditions = nlohmann::json::array();
    for (const auto& c : pf.conditions) {
      conditions.push_back({{"condition", c.text},
                            {"attribute", c.attribute},
                            {"expected", c.expected},
                            {"actual", c.actual ? control::attribute_value_json(*c.actual)
                                                : nlohmann::json(nullptr)}});
    }
    postures.push_back({{"posture", pf.posture}, {"failed", std::move(conditions)}});
  }
  auto out = rule_json(file, near_miss.rule);
  out["gate"] = near_miss.from_default ? "defaultSrcPosture" : "srcPosture";
  out["postures"] = std::move(postures);
  return out;
}

nlohmann::json decision_json(const grammar::SourceFile& file, const engine::Decision& decision,
                             const std::string& src_label, const std::string& dst_label,
                             std::uint8_t proto, std::uint16_t port, bool explain) {
  nlohmann::json out = {{"decision", decision.allow ? "accept" : "deny"},
                        {"src", src_label},
                        {"dst", dst_label},
                        {"proto", proto},
                        {"port", port}};
  if (decision.rule) out["rule"] = rule_json(file, *decision.rule);
  if (decision.reason == engine::Reason::AllowAll)
    out["reason"] = "policy has no acls and no grants";
  if (!decision.allow && explain) {
    nlohmann::json near = nlohmann::json::array();
    for (const auto& nm : decision.near_misses) near.push_back(near_miss_json(file, nm));
    out["postureFailures"] = std::move(near);
  }
  return out;
}

nlohmann::json filter_rules_json(const std::vector<engine::FilterRule>& rules) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rules) {
    nlohmann::json dst = nlohmann::json::array();
    for (const auto& d : r.dst_ports) {
      dst.push_back({{"IP", d.ip}, {"Ports", {{"First", d.ports.first}, {"Last", d.ports.last}}}});
    }
    nlohmann::json rule = {{"SrcIPs", r.src_ips}, {"DstPorts", std::move(dst)}};
    if (!r.ip_proto.empty()) rule["IPProto"] = r.ip_proto;
    out.push_back(std::move(rule));
  }
  return out;
}

std::string proto_label(std::uint8_t proto) {
  switch (proto) {
    case engine::kProtoTcp:
      return "tcp";
    case engine::kProtoUdp:
      return "udp";
    case engine::kProtoIcmp:
      return "icmp";
    case engine::kProtoIcmpV6:
      return "ipv6-icmp";
    case engine::kProtoSctp:
      return "sctp";
    default:
      return "proto " + std::to_string(proto);
  }
}

nlohmann::json node_filter_json(const engine::Snapshot& snapshot, engine::DeviceIndex device,
                                const std::vector<engine::FilterRule>& rules) {
  const auto& d = snapshot.device(device);
  return {{"node", {{"id", d.id}, {"nodeId", d.node_id}, {"name", d.name}}},
          {"rules", filter_rules_json(rules)}};
}

nlohmann::json batch_answer_json(const grammar::SourceFile& file,
                                 const control::BatchChecker::Answer& answer) {
  if (answer.error) {
    return {{"error",
             {{"code", std::string(grammar::code_name(answer.error->code))},
              {"message", answer.error->message}}}};
  }
  nlohmann::json r = {{"decision", answer.accept ? "accept" : "deny"}, {"allow", answer.accept}};
  if (answer.accept && answer.decision->rule) r["rule"] = rule_json(file, *answer.decision->rule);
  if (!answer.accept && answer.explain) {
    nlohmann::json misses = nlohmann::json::array();
    for (const auto& nm : answer.decision->near_misses) misses.push_back(near_miss_json(file, nm));
    r["postureFailures"] = std::move(misses);
  }
  return r;
}

}  // namespace postern::app
