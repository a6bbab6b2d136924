// `postern validate FILE... [--tailnet FILE] [--format text|json]`: check policy files the way
// Tailscale does on save, reporting every problem at file:line:col.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "command_registry.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/control/text_file.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {
namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  std::string tailnet;
  std::string db;
  std::string format = "text";
};

// The inventory the policies are judged against: --tailnet, with --db's attributes laid over.
std::shared_ptr<const engine::Inventory> read_inventory(const ValidateOptions& options) {
  control::TailnetOptions tailnet_options;
  tailnet_options.tailnet_path = options.tailnet;
  if (!options.db.empty()) {
    tailnet_options.db = options.db;
    tailnet_options.create_db = false;
  }
  auto tailnet = open_tailnet("validate", std::move(tailnet_options));
  if (!tailnet) return nullptr;
  return tailnet->effective_inventory();
}

int run_validate(const ValidateOptions& options) {
  const bool json_output = options.format == "json";
  std::shared_ptr<const engine::Inventory> inventory;
  if (!options.tailnet.empty()) {
    inventory = read_inventory(options);
    if (!inventory) return kExitUsage;
  } else if (!options.db.empty()) {
    print_error("validate", control::invalid(grammar::DiagCode::C703, "--db needs --tailnet"));
    return kExitUsage;
  }
  // Expiries in the inventory or the store are judged against the wall clock.
  const auto now = sync::to_unix(sync::SysClock::now());
  bool io_failure = false;
  bool any_invalid = false;
  auto files_json = nlohmann::json::array();
  for (const auto& path : options.files) {
    auto text = control::read_text_file(path, "policy", control::kMaxPolicyFileBytes);
    if (!text) {
      io_failure = true;
      if (json_output) {
        files_json.push_back({{"file", path},
                              {"valid", false},
                              {"error", text.error().message},
                              {"diagnostics", nlohmann::json::array()}});
      } else {
        print_error("validate", text.error());
      }
      continue;
    }
    auto verdict = control::judge_policy(path, std::move(text.value()), inventory.get(), now);
    auto& p = verdict.loaded;
    const std::size_t tests_run = verdict.tests ? verdict.tests->tests_run : 0;
    if (verdict.tests) {
      for (auto& d : verdict.tests->diagnostics) p.diags.push_back(std::move(d));
    }
    const bool valid = verdict.accepted();
    if (!valid) any_invalid = true;
    if (json_output) {
      files_json.push_back({{"file", path},
                            {"valid", valid},
                            {"errors", p.error_count()},
                            {"warnings", p.warning_count()},
                            {"testsRun", tests_run},
                            {"diagnostics", diagnostics_json(p.file, p.diags)}});
      continue;
    }
    if (!p.diags.empty()) std::cerr << render_text(p.file, p.diags);
    std::string line = fmt::format("{}: {}", path, valid ? "valid" : "invalid");
    if (valid && tests_run > 0) {
      line += fmt::format(", {} {} passed", tests_run, tests_run == 1 ? "test" : "tests");
    }
    const auto errors = p.error_count();
    const auto warnings = p.warning_count();
    if (errors > 0 || warnings > 0) {
      line += fmt::format(" ({} {}, {} {})", errors, errors == 1 ? "error" : "errors", warnings,
                          warnings == 1 ? "warning" : "warnings");
    }
    std::cout << line << "\n";
  }
  if (json_output) {
    nlohmann::json out = {{"valid", !io_failure && !any_invalid}, {"files", files_json}};
    std::cout << out.dump(2) << "\n";
  }
  if (io_failure) return kExitUsage;
  return any_invalid ? kExitFailed : kExitOk;
}

const CommandRegistration kValidateCommand{
    10, [](CLI::App& root, int& exit_code) {
      auto options = std::make_shared<ValidateOptions>();
      auto* cmd = root.add_subcommand(
          "validate",
          "Check policy files as Tailscale does on save: HuJSON syntax, the shape of every\n"
          "section, names (groups, tags, hosts, postures, ipsets), autogroup placement, ports,\n"
          "protocols and posture conditions. Every problem is reported at file:line:col.\n"
          "Warnings (unknown attribute namespace, empty srcPosture, conflicting attribute\n"
          "types) are printed but do not make a file invalid.\n"
          "Exit status: 0 all files valid, 1 some file invalid, 2 usage or I/O error.");
      cmd->add_option("files", options->files, "Policy files (HuJSON) to validate")
          ->required()
          ->type_name("FILE...");
      cmd->add_option("--tailnet", options->tailnet,
                      "Tailnet inventory (JSON, see docs/inventory.md); enables the check that\n"
                      "`user:*@<domain>` selectors name a domain of the tailnet's users")
          ->type_name("FILE");
      cmd->add_option("--db", options->db,
                      "The store (SQLite file or postgresql:// URL): laid over the inventory's\n"
                      "attributes (needs --tailnet)")
          ->type_name("FILE");
      cmd->add_option("--format", options->format,
                      "Output format: `text` (diagnostics on stderr, one verdict line per file on\n"
                      "stdout) or `json` (one JSON document on stdout with every diagnostic as\n"
                      "{file, line, column, severity, code, message, help})")
          ->check(CLI::IsMember({"text", "json"}))
          ->default_val("text");
      cmd->footer(
          "Examples:\n"
          "  postern validate samples/policy.hujson\n"
          "  postern validate --format json policy.hujson\n"
          "  postern validate --tailnet samples/tailnet.json a.hujson b.hujson");
      cmd->callback([options, &exit_code] { exit_code = run_validate(*options); });
    }};

}  // namespace
}  // namespace postern::app
