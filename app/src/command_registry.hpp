#pragma once
// Subcommands register themselves: each app/src/cmd_*.cpp defines a static CommandRegistration,
// so adding a command never touches main.cpp.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace postern::app {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;      // valid / accept / success
inline constexpr int kExitFailed = 1;  // invalid / deny / the operation failed
inline constexpr int kExitUsage = 2;   // usage, I/O or configuration error

// Adds a subcommand to `root` and returns it; the callback stores the exit code in `exit_code`.
using CommandFactory = std::function<void(CLI::App& root, int& exit_code)>;

struct CommandEntry {
  int order;  // position in --help
  CommandFactory factory;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistration {
  CommandRegistration(int order, CommandFactory factory) {
    command_registry().push_back({order, std::move(factory)});
  }
};

}  // namespace postern::app
