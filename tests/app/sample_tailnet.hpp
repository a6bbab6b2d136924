#pragma once
// The repository's samples (policy.hujson, tailnet.json) opened as a Tailnet over a scratch
// database and a fake clock: what the app layer's answer-writing tests check against.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "postern/control/tailnet.hpp"
#include "postern/sync/clock.hpp"
#include "scratch.hpp"

namespace postern::test {

inline std::string sample_file(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

struct SampleTailnet {
  explicit SampleTailnet(const std::string& scratch_name) : dir(scratch_name) {}

  ScratchDir dir;
  sync::FakeClock clock;
  std::unique_ptr<control::Tailnet> tailnet = open();

 private:
  std::unique_ptr<control::Tailnet> open() {
    control::TailnetOptions options;
    options.db = dir.file("postern.db");
    options.policy_path = sample_file("policy.hujson");
    options.tailnet_path = sample_file("tailnet.json");
    options.clock = &clock;
    auto opened = control::Tailnet::open(std::move(options));
    REQUIRE(opened.ok());
    return std::move(opened.value());
  }
};

}  // namespace postern::test
