#pragma once
// What the control tests' fixtures share: the bundled samples and a tailnet opened on them.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "postern/control/tailnet.hpp"
#include "postern/sync/clock.hpp"

namespace postern::test {

// samples/NAME in the source tree.
std::string sample(const std::string& name);

// What a fixture's tailnet is opened with; every file is one of the bundled samples.
struct TailnetSetup {
  bool policy = true;     // samples/policy.hujson (else the store's or the default)
  bool inventory = true;  // samples/tailnet.json
  std::optional<std::filesystem::path> db;  // a SQLite store here; none: memory only
};

// control::Tailnet::open with `setup` and `clock`; the test fails when it cannot open.
std::unique_ptr<control::Tailnet> open_tailnet(const TailnetSetup& setup, sync::Clock& clock);

}  // namespace postern::test
