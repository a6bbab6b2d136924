#include "open_tailnet.hpp"

#include <catch2/catch.hpp>

namespace postern::test {

std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

std::unique_ptr<control::Tailnet> open_tailnet(const TailnetSetup& setup, sync::Clock& clock) {
  control::TailnetOptions options;
  options.db = setup.db;
  if (setup.policy) options.policy_path = sample("policy.hujson");
  if (setup.inventory) options.tailnet_path = sample("tailnet.json");
  options.clock = &clock;
  auto opened = control::Tailnet::open(std::move(options));
  INFO((opened.ok() ? std::string() : opened.error().message));
  REQUIRE(opened.ok());
  return std::move(opened.value());
}

}  // namespace postern::test
