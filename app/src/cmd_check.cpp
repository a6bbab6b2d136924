// `postern check`: may SRC reach DST:PORT right now? One query, or a batch of JSON lines.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "decision_json.hpp"
#include "postern/control/query.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {
namespace {

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
  return fmt::format("{}:{}", file.path(), r.line);
}

std::string explanation(const grammar::SourceFile& file, const engine::Decision& d) {
  std::string out;
  for (const auto& nm : d.near_misses) {
    out += fmt::format("  {} ({}) would accept it, but the source fails {}:\n",
                       engine::rule_name(nm.rule), where(file, nm.rule),
                       nm.from_default ? "defaultSrcPosture" : "srcPosture");
    for (const auto& pf : nm.postures) {
      for (const auto& c : pf.conditions) {
        out += fmt::format("    {}: `{}` (actual: {})\n", pf.posture, c.text,
                           c.actual ? value_text(*c.actual) : "unset");
      }
    }
  }
  return out;
}

control::TailnetOptions tailnet_options(const CheckOptions& o) {
  control::TailnetOptions options;
  if (!o.tailnet.empty()) options.tailnet_path = o.tailnet;
  options.policy_path = o.policy;
  options.store_policy_file = false;  // a check reads the file as given, never stores it
  if (!o.db.empty()) {
    options.db = o.db;
    options.create_db = false;
  }
  return options;
}

int run_single(const CheckOptions& o, const control::Tailnet& tailnet) {
  const auto snap = tailnet.snapshot();
  const auto& file = snap->file();
  control::QueryInput input{o.src, o.dst, o.proto, std::nullopt, true};
  if (!o.attrs.empty()) {
    auto attrs = control::read_attr_map(o.attrs, "--attrs");
    if (!attrs) {
      print_error("check", attrs.error());
      return kExitUsage;
    }
    input.src_attrs = std::move(attrs.value());
  }
  const auto checked = control::check(*snap, input);
  if (!checked) {
    print_error("check", checked.error());
    return kExitUsage;
  }
  const auto& [query, answer] = checked.value();
  const auto& src = query.src;
  const auto& dst = query.dst;
  const bool all = answer.accept;
  nlohmann::json results = nlohmann::json::array();
  std::string text;
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    const auto& d = answer.decisions[i];
    if (o.format == "json") {
      results.push_back(
          decision_json(file, d, src.labels[i], dst.labels[0], query.proto, query.port, true));
      continue;
    }
    // Device names come from the tailnet file, where a device's owner may have chosen them.
    text += fmt::format("{} {} -> {} {}/{}", d.allow ? "accept" : "deny",
                        grammar::printable(src.labels[i]), grammar::printable(dst.labels[0]),
                        proto_label(query.proto), query.port);
    if (d.rule) {
      text += fmt::format(" by {} ({})", engine::rule_name(*d.rule), where(file, *d.rule));
    } else if (d.reason == engine::Reason::AllowAll) {
      text += " (the policy has no acls and no grants: everything is allowed)";
    } else if (d.reason == engine::Reason::PostureFailed) {
      text += fmt::format(": {} {} would accept it but for posture", d.near_misses.size(),
                          d.near_misses.size() == 1 ? "rule" : "rules");
    } else {
      text += ": no rule accepts it";
    }
    text += "\n";
    if (o.explain && !d.allow) text += explanation(file, d);
  }
  if (o.format == "json") {
    nlohmann::json out = {{"decision", all ? "accept" : "deny"}, {"results", results}};
    std::cout << out.dump(2) << "\n";
  } else {
    // The first word of the output is the overall verdict.
    if (src.addresses.size() > 1) {
      std::cout << fmt::format("{} (all devices of {})\n", all ? "accept" : "deny",
                               grammar::printable(o.src));
    }
    std::cout << text;
  }
  return all ? kExitOk : kExitFailed;
}

// The throughput path: one JSON query per line, one answer line per query, in order.
int run_batch(const CheckOptions& o, const control::Tailnet& tailnet) {
  std::FILE* in = o.batch == "-" ? stdin : std::fopen(o.batch.c_str(), "rb");
  if (in == nullptr) {
    const int reason = errno;  // before anything else can change it
    print_error("check", control::invalid(
                             grammar::DiagCode::C701,
                             fmt::format("cannot read `{}`: {}", o.batch, std::strerror(reason))));
    return kExitUsage;
  }
  const auto snap = tailnet.snapshot();
  const auto& file = snap->file();
  const bool as_json = o.format == "json";
  std::string out;
  out.reserve(1 << 16);
  bool any_error = false;
  std::vector<std::size_t> line_numbers;  // input index -> line number (blank lines skipped)
  control::BatchChecker batch(snap, [&](const control::BatchChecker::Answer& a) {
    if (a.error) any_error = true;
    if (as_json) {
      // The HTTP batch's shape, plus the input line of an error.
      nlohmann::json r = batch_answer_json(file, a);
      if (a.error) r["line"] = line_numbers[a.index];
      out += r.dump();
      out += '\n';
    } else if (a.error) {
      out += fmt::format("error: line {}: {}\n", line_numbers[a.index], a.error->message);
    } else {
      out += a.accept ? "accept" : "deny";
      if (a.accept && a.decision->rule) {
        out += ' ';
        out += engine::rule_name(*a.decision->rule);
      }
      out += '\n';
      if (!a.accept && a.explain) out += explanation(file, *a.decision);
    }
    if (out.size() > (1 << 15)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  });
  std::size_t line_no = 0;
  auto handle = [&](std::string_view text) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) return;
    line_numbers.push_back(line_no);
    auto input = control::read_query(text, o.explain);
    if (!input) return batch.add_error(input.error());
    batch.add(input.value());
  };
  std::string line;
  char buffer[1 << 16];
  while (std::fgets(buffer, sizeof buffer, in) != nullptr) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      handle(line);
      line.clear();
    }
  }
  if (!line.empty()) handle(line);
  batch.finish();
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (in != stdin) std::fclose(in);
  return any_error ? kExitUsage : kExitOk;
}

int run_check(const CheckOptions& o) {
  if (o.batch.empty() && (o.src.empty() || o.dst.empty())) {
    print_error("check",
                control::invalid(grammar::DiagCode::C703, "give --src and --dst, or --batch FILE"));
    return kExitUsage;
  }
  if (!o.db.empty() && o.tailnet.empty()) {
    print_error("check", control::invalid(grammar::DiagCode::C703, "--db needs --tailnet"));
    return kExitUsage;
  }
  auto tailnet = open_tailnet("check", tailnet_options(o));
  if (!tailnet) return kExitUsage;
  return o.batch.empty() ? run_single(o, *tailnet) : run_batch(o, *tailnet);
}

const CommandRegistration kCheckCommand{
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
      cmd->add_option("--tailnet", o->tailnet, kTailnetHelp)->type_name("FILE");
      cmd->add_option("--db", o->db,
                      "The store (SQLite file or postgresql:// URL): its kandji:* and custom:*\n"
                      "values are laid over the inventory's (needs --tailnet)")
          ->type_name("FILE");
      auto* src =
          cmd->add_option("--src", o->src,
                          "Source: hostname, FQDN, first label, id, nodeId, IP, or a user login\n"
                          "(every untagged device of that user must be accepted)")
              ->type_name("SRC");
      auto* dst = cmd->add_option("--dst", o->dst,
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
          ->type_name("FILE")
          ->excludes(src)
          ->excludes(dst);
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
