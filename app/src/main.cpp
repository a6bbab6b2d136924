// postern: validate, test and query Tailscale-style access policies with device posture.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

#include "command_registry.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace postern::app

int main(int argc, char** argv) {
  using namespace postern::app;
  CLI::App root{
      "postern: a policy engine for Tailscale-style access policies with device posture.\n"
      "Validate policy files, run their tests, answer access checks and keep posture attributes\n"
      "in sync with MDM integrations (Kandji)."};
  root.require_subcommand(1);
  root.set_version_flag("--version", "postern 0.1.0");
  int exit_code = kExitOk;
  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
  for (const auto& entry : registry) entry.factory(root, exit_code);
  if (argc > 1 && argv[1][0] != '-') {
    // CLI11 says only "A subcommand is required" for a word it does not know.
    std::string known;
    bool found = false;
    for (const auto* command : root.get_subcommands([](CLI::App*) { return true; })) {
      found = found || command->check_name(argv[1]);
      known += (known.empty() ? "" : ", ") + command->get_name();
    }
    if (!found) {
      std::cerr << "postern: unknown command `" << postern::grammar::printable(argv[1], true)
                << "`; the commands are " << known << " (postern --help)\n";
      return kExitUsage;
    }
  }
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = root.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "postern: error: " << e.what() << "\n";
    return kExitUsage;
  }
  return exit_code;
}
