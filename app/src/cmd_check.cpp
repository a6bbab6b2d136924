// `postern check`: may SRC reach DST:PORT right now? One query, or a batch of JSON lines.
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <unordered_map>

#include "access_query.hpp"
#include "command_registry.hpp"
#include "decision_json.hpp"
#include "engine_loading.hpp"

namespace postern::app {
namespace {
namespace ip = grammar::ip;

struct CheckOptions {
  std::string policy;
  std::string tailnet;
  std::string db;
  std::string src;
  std::string dst;
  std::string proto = "tcp";
  std::string attrs;
  std::string batch;
  std::string format = "text";
  bool explain = false;
};

std::string value_text(const engine::AttrValue& v) { return engine::attr_value_text(v); }

std::string where(const grammar::SourceFile& file, const engine::RuleRef& r) {
  return file.path() + ":" + std::to_string(r.line);
}

void print_explanation(std::ostream& out, const grammar::SourceFile& file,
                       const engine::Decision& d) {
  for (const auto& nm : d.near_misses) {
    out << "  " << engine::rule_name(nm.rule) << " (" << where(file, nm.rule)
        << ") would accept it, but the source fails "
        << (nm.from_default ? "defaultSrcPosture" : "srcPosture") << ":\n";
    for (const auto& pf : nm.postures) {
      for (const auto& c : pf.conditions) {
        out << "    " << pf.posture << ": `" << c.text
            << "` (actual: " << (c.actual ? value_text(*c.actual) : "unset") << ")\n";
      }
    }
  }
}

int run_single(const CheckOptions& o, const LoadedEngine& le) {
  const auto snap = le.engine->snapshot();
  const auto& file = le.policy.file;
  const auto proto = parse_query_proto(o.proto);
  if (!proto) {
    std::cerr << "postern check: error[C722]: unknown protocol `" << o.proto
              << "` (use tcp, udp, icmp, sctp, a protocol name or 0-255)\n";
    return kExitUsage;
  }
  std::string error;
  std::optional<engine::AttrMap> attrs;
  if (!o.attrs.empty()) {
    nlohmann::json j = nlohmann::json::parse(o.attrs, nullptr, false);
    if (j.is_discarded()) {
      std::cerr << "postern check: error[C722]: --attrs is not valid JSON\n";
      return kExitUsage;
    }
    attrs = parse_attr_map(j, error);
    if (!attrs) {
      std::cerr << "postern check: error[C722]: --attrs: " << error << "\n";
      return kExitUsage;
    }
  }
  AccessQueryError problem;
  const auto query = resolve_access_query(*snap, o.src, o.dst, *proto, std::move(attrs), problem);
  if (!query) {
    const bool unknown = problem.kind == AccessQueryError::Kind::UnknownEndpoint;
    std::cerr << "postern check: error[" << (unknown ? "C721" : "C722") << "]: " << problem.message
              << "\n";
    return kExitUsage;
  }
  const auto& src = query->src;
  const auto& dst = query->dst;
  const auto p = query->proto;
  const auto port = query->port;

  // A user login may name several devices: accept only when every one is accepted.
  const auto answer = answer_access_query(*snap, *query, /*explain=*/true);
  const bool all = answer.accept;
  nlohmann::json results = nlohmann::json::array();
  std::ostringstream text;
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    const auto& d = answer.decisions[i];
    if (o.format == "json") {
      results.push_back(decision_json(file, d, src.labels[i], dst.labels[0], p, port, true));
      continue;
    }
    text << (d.allow ? "accept" : "deny") << " " << src.labels[i] << " -> " << dst.labels[0] << " "
         << proto_label(p) << "/" << port;
    if (d.rule) {
      text << " by " << engine::rule_name(*d.rule) << " (" << where(file, *d.rule) << ")";
    } else if (d.reason == engine::Reason::AllowAll) {
      text << " (the policy has no acls and no grants: everything is allowed)";
    } else if (d.reason == engine::Reason::PostureFailed) {
      text << ": " << d.near_misses.size() << (d.near_misses.size() == 1 ? " rule" : " rules")
           << " would accept it but for posture";
    } else {
      text << ": no rule accepts it";
    }
    text << "\n";
    if (o.explain && !d.allow) print_explanation(text, file, d);
  }
  if (o.format == "json") {
    nlohmann::json out = {{"decision", all ? "accept" : "deny"}, {"results", results}};
    std::cout << out.dump(2) << "\n";
  } else {
    // The first word of the output is the overall verdict.
    if (src.addresses.size() > 1)
      std::cout << (all ? "accept" : "deny") << " (all devices of " << o.src << ")\n";
    std::cout << text.str();
  }
  return all ? kExitOk : kExitFailed;
}

// The throughput path: one JSON query per line, one answer line per query, in order.
int run_batch(const CheckOptions& o, const LoadedEngine& le) {
  std::FILE* in = o.batch == "-" ? stdin : std::fopen(o.batch.c_str(), "rb");
  if (in == nullptr) {
    std::cerr << "postern check: error[C701]: cannot read `" << o.batch << "`\n";
    return kExitUsage;
  }
  const auto snap = le.engine->snapshot();
  const auto& file = le.policy.file;
  const bool json = o.format == "json";
  std::unordered_map<std::string, Endpoint> src_cache[2];
  std::unordered_map<std::string, Endpoint> dst_cache;
  const DeviceNames names(snap->inventory());
  std::string out;
  out.reserve(1 << 16);
  std::string line;
  char buffer[1 << 16];
  std::size_t line_no = 0;
  bool any_error = false;
  auto flush = [&] {
    std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  };
  // Lines are answered in blocks through check_batch (it overlaps independent queries' memory
  // loads); each line keeps its requests' range, or its error, so answers stay in line order.
  struct Pending {
    std::string error;
    std::size_t first = 0;
    std::size_t count = 0;
  };
  std::vector<Pending> pending;
  std::vector<engine::Request> requests;
  std::deque<engine::AttrMap> attr_store;  // srcPostureAttrs of the block (stable addresses)
  std::vector<engine::Decision> decisions;
  auto fail = [&](const std::string& message) {
    any_error = true;
    pending.push_back({"error: line " + std::to_string(line_no) + ": " + message + "\n", 0, 0});
  };
  auto handle = [&](const std::string& text) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) return;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    const auto src_it = j.find("src");
    const auto dst_it = j.find("dst");
    if (src_it == j.end() || !src_it->is_string() || dst_it == j.end() || !dst_it->is_string()) {
      return fail("`src` and `dst` must be strings");
    }
    std::string proto_text = "tcp";
    if (auto p = j.find("proto"); p != j.end() && p->is_string())
      proto_text = p->get<std::string>();
    const auto proto = parse_query_proto(proto_text);
    if (!proto) return fail("unknown protocol `" + proto_text + "`");
    std::string error, host;
    std::uint16_t port = 0;
    const auto& dst_text = dst_it->get_ref<const std::string&>();
    if (!split_host_port(dst_text, host, port, error)) return fail(error);
    auto dit = dst_cache.find(host);
    if (dit == dst_cache.end()) {
      const auto literal = ip::parse_address(host);
      dit = dst_cache
                .emplace(host, resolve_endpoint(*snap, host, literal && literal->v6, error, &names))
                .first;
    }
    if (dit->second.addresses.empty()) return fail("unknown destination `" + host + "`");
    const bool v6 = dit->second.addresses[0].v6;
    const auto& src_name = src_it->get_ref<const std::string&>();
    auto sit = src_cache[v6 ? 1 : 0].find(src_name);
    if (sit == src_cache[v6 ? 1 : 0].end()) {
      sit = src_cache[v6 ? 1 : 0]
                .emplace(src_name, resolve_endpoint(*snap, src_name, v6, error, &names))
                .first;
    }
    if (sit->second.addresses.empty()) return fail("unknown source `" + src_name + "`");
    const engine::AttrMap* attrs = nullptr;
    if (auto a = j.find("srcPostureAttrs"); a != j.end()) {
      auto parsed = parse_attr_map(*a, error);
      if (!parsed) return fail(error);
      attrs = &attr_store.emplace_back(std::move(*parsed));
    }
    std::uint8_t p = *proto;
    if (p == engine::kProtoIcmp && v6) p = engine::kProtoIcmpV6;
    pending.push_back({"", requests.size(), sit->second.addresses.size()});
    for (const auto& s : sit->second.addresses) {
      engine::Request q;
      q.src = s;
      q.dst = dit->second.addresses[0];
      q.proto = p;
      q.port = port;
      q.src_attrs = attrs;
      q.explain = o.explain;
      requests.push_back(q);
    }
  };
  auto answer = [&](const Pending& line_entry) {
    if (!line_entry.error.empty()) {
      out += line_entry.error;
      return;
    }
    // A user login may name several devices: accept only when every one is accepted.
    bool all = true;
    const engine::Decision* found = nullptr;
    for (std::size_t k = 0; k < line_entry.count && all; ++k) {
      found = &decisions[line_entry.first + k];
      all = found->allow;
    }
    const engine::Decision& last = *found;
    if (json) {
      nlohmann::json r = {{"decision", all ? "accept" : "deny"}};
      if (all && last.rule) r["rule"] = rule_json(file, *last.rule);
      if (!all && o.explain) {
        nlohmann::json nms = nlohmann::json::array();
        for (const auto& nm : last.near_misses) nms.push_back(near_miss_json(file, nm));
        r["postureFailures"] = nms;
      }
      out += r.dump();
      out += '\n';
    } else {
      out += all ? "accept" : "deny";
      if (all && last.rule) {
        out += ' ';
        out += engine::rule_name(*last.rule);
      }
      out += '\n';
      if (!all && o.explain) {
        std::ostringstream ex;
        print_explanation(ex, file, last);
        out += ex.str();
      }
    }
    if (out.size() > (1 << 15)) flush();
  };
  auto answer_block = [&] {
    decisions.resize(requests.size());
    snap->check_batch(requests, std::span<engine::Decision>(decisions));
    for (const auto& entry : pending) answer(entry);
    pending.clear();
    requests.clear();
    attr_store.clear();
  };
  constexpr std::size_t kBlock = 4096;
  while (std::fgets(buffer, sizeof buffer, in) != nullptr) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      handle(line);
      line.clear();
      if (pending.size() >= kBlock) answer_block();
    }
  }
  if (!line.empty()) handle(line);
  answer_block();
  flush();
  if (in != stdin) std::fclose(in);
  return any_error ? kExitUsage : kExitOk;
}

int run_check(const CheckOptions& o) {
  if (o.batch.empty() && (o.src.empty() || o.dst.empty())) {
    std::cerr << "postern check: error[C703]: give --src and --dst, or --batch FILE\n";
    return kExitUsage;
  }
  auto le = load_engine("check", o.policy, o.tailnet, o.db);
  if (!le) return kExitUsage;
  return o.batch.empty() ? run_single(o, *le) : run_batch(o, *le);
}

const CommandRegistration kRegistration{
    30, [](CLI::App& root, int& exit_code) {
      auto o = std::make_shared<CheckOptions>();
      auto* cmd = root.add_subcommand(
          "check",
          "Answer an access question: may SRC open PROTO to DST:PORT right now, under the\n"
          "policy and the devices' current posture attributes? Prints `accept` or `deny` first,\n"
          "with the deciding rule (file:line); --explain lists, for a deny, the rules that would\n"
          "have accepted it but for posture, each failing condition and the device's value.\n"
          "Exit status: 0 accept, 1 deny, 2 error (batch mode: 0 when every line was answered).");
      cmd->add_option("--policy", o->policy, "Policy file (HuJSON)")->required()->type_name("FILE");
      cmd->add_option("--tailnet", o->tailnet, "Tailnet inventory (spec/inventory.md)")
          ->type_name("FILE");
      cmd->add_option("--db", o->db,
                      "Attribute store (SQLite, from `postern sync`): its kandji:* and custom:*\n"
                      "values are laid over the inventory's (needs --tailnet)")
          ->type_name("FILE");
      cmd->add_option("--src", o->src,
                      "Source: hostname, FQDN, first label, id, nodeId, IP, or a user login\n"
                      "(every untagged device of that user must be accepted)")
          ->type_name("SRC");
      cmd->add_option("--dst", o->dst,
                      "Destination with port: device:443, 100.64.0.10:22,\n"
                      "[fd7a:115c:a1e0::a]:80 (port 0 for ICMP)")
          ->type_name("DST:PORT");
      cmd->add_option("--proto", o->proto, "tcp (default), udp, icmp, sctp, a name or 0-255")
          ->type_name("PROTO");
      cmd->add_option("--attrs", o->attrs,
                      "JSON object replacing the source device's attributes for this query,\n"
                      "like srcPostureAttrs in a policy test: '{\"node:os\": \"macos\"}'")
          ->type_name("JSON");
      cmd->add_flag("--explain", o->explain, "Explain denies: posture failures with values");
      cmd->add_option(
             "--batch", o->batch,
             "JSON lines, one query each: {\"src\": .., \"dst\": \"host:port\",\n"
             "\"proto\": \"tcp\", \"srcPostureAttrs\": {..}}; `-` reads stdin. One answer\n"
             "line per query, in order")
          ->type_name("FILE");
      cmd->add_option("--format", o->format, "text (default) or json")
          ->check(CLI::IsMember({"text", "json"}));
      cmd->footer(
          "Examples:\n"
          "  postern check --policy samples/policy.hujson --tailnet samples/tailnet.json \\\n"
          "      --src alice-mbp --dst db-1:5432 --explain\n"
          "  postern check --policy p.hujson --tailnet t.json --batch queries.jsonl");
      cmd->callback([o, &exit_code] { exit_code = run_check(*o); });
    }};

}  // namespace
}  // namespace postern::app
