// `postern validate FILE... [--tailnet FILE] [--format text|json]`: check policy files the way
// Tailscale does on save, reporting every problem at file:line:col.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "engine_loading.hpp"
#include "policy_loading.hpp"
#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"

namespace postern::app {
namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  std::string tailnet;
  std::string db;
  std::string format = "text";
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct FileReport {
  LoadedPolicy policy;
  bool valid = false;
  std::size_t tests_run = 0;  // entries of the policy's `tests` block that ran
};

// Reads --tailnet; nullopt (after printing why) when it cannot be used.
std::optional<engine::Inventory> read_inventory(const std::string& path, bool json_output) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "postern validate: error[C701]: cannot read tailnet inventory `" << path << "`\n";
    return std::nullopt;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto result = engine::load_inventory(bytes.str());
  if (!result.inventory) {
    for (const auto& e : result.errors) {
      std::cerr << path << ": error[C702]: " << (e.json_path.empty() ? "" : e.json_path + ": ")
                << e.message << "\n";
    }
    if (result.errors.empty()) std::cerr << path << ": error[C702]: invalid tailnet inventory\n";
    (void)json_output;
    return std::nullopt;
  }
  return std::move(result.inventory);
}

// The single place where a valid policy's `tests` block runs (Tailscale runs them on every save;
// spec §6): each failing test adds a T4xx diagnostic and makes the file invalid.
void run_policy_tests_stage(FileReport& report, const engine::Inventory* inventory) {
  auto& policy = report.policy;
  // Expiries in the inventory or the store are judged against the wall clock.
  auto result = engine::run_policy_tests(policy.file, *policy.ast, inventory,
                                         engine::CompileOptions{unix_now()});
  report.tests_run = result.tests_run;
  for (auto& d : result.diagnostics) policy.diags.push_back(std::move(d));
  if (!result.passed) report.valid = false;
}

int run_validate(const ValidateOptions& options) {
  const bool json_output = options.format == "json";
  std::optional<engine::Inventory> inventory;
  engine::ValidateContext context;
  if (!options.tailnet.empty()) {
    inventory = read_inventory(options.tailnet, json_output);
    if (!inventory) return kExitUsage;
    if (!options.db.empty() && !overlay_store_attributes("validate", options.db, *inventory)) {
      return kExitUsage;
    }
    context = validate_context(*inventory);
  } else if (!options.db.empty()) {
    std::cerr << "postern validate: error[C703]: --db needs --tailnet\n";
    return kExitUsage;
  }

  bool io_failure = false;
  bool any_invalid = false;
  auto files_json = nlohmann::json::array();
  for (const auto& path : options.files) {
    FileReport report{load_policy(path, context), false};
    if (report.policy.io_error) {
      io_failure = true;
      if (json_output) {
        files_json.push_back({{"file", path},
                              {"valid", false},
                              {"error", *report.policy.io_error},
                              {"diagnostics", nlohmann::json::array()}});
      } else {
        std::cerr << "postern validate: error[C701]: " << *report.policy.io_error << "\n";
      }
      continue;
    }
    report.valid = report.policy.ok();
    if (report.valid) run_policy_tests_stage(report, inventory ? &*inventory : nullptr);
    if (!report.valid) any_invalid = true;

    const auto& p = report.policy;
    if (json_output) {
      files_json.push_back({{"file", path},
                            {"valid", report.valid},
                            {"errors", p.error_count()},
                            {"warnings", p.warning_count()},
                            {"testsRun", report.tests_run},
                            {"diagnostics", diagnostics_json(p.file, p.diags)}});
    } else {
      if (!p.diags.empty()) std::cerr << render_text(p.file, p.diags);
      std::cout << path << ": " << (report.valid ? "valid" : "invalid");
      if (report.valid && report.tests_run > 0) {
        std::cout << ", " << report.tests_run << (report.tests_run == 1 ? " test" : " tests")
                  << " passed";
      }
      const auto errors = p.error_count();
      const auto warnings = p.warning_count();
      if (errors > 0 || warnings > 0) {
        std::cout << " (" << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
                  << (warnings == 1 ? " warning" : " warnings") << ")";
      }
      std::cout << "\n";
    }
  }
  if (json_output) {
    nlohmann::json out = {{"valid", !io_failure && !any_invalid}, {"files", files_json}};
    std::cout << out.dump(2) << "\n";
  }
  if (io_failure) return kExitUsage;
  return any_invalid ? kExitFailed : kExitOk;
}

const CommandRegistration kRegistration{
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
                      "Tailnet inventory (JSON, see spec/inventory.md); enables the check that\n"
                      "`user:*@<domain>` selectors name a domain of the tailnet's users")
          ->type_name("FILE");
      cmd->add_option("--db", options->db,
                      "Attribute store (SQLite, from `postern sync`) laid over the inventory's\n"
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
