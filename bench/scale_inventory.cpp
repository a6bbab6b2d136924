// Whole-pipeline cost as the tailnet grows (issue 7 item 10): load inventory -> load policy ->
// compile -> resolve and check every query of a gen_workload.py workload, as `postern check
// --batch` does. Prints each phase's wall time, the total and the process's peak RSS, and fails
// when any answer differs from the workload's `expect`.
//
//   bench/scale_inventory ../shared-workloads/wl_n1000_d100000   (see bench/README.md)
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/engine/policy_load.hpp"
#include "postern/engine/query.hpp"

namespace {

using namespace postern;
using Clock = std::chrono::steady_clock;

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) return std::nullopt;
  return bytes;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of the whole process (user + system): wall time on a shared machine says little.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Outcome {
  std::size_t answered = 0;
  std::size_t equal = 0;
  std::size_t errors = 0;
};

Outcome run_queries(const engine::Snapshot& snapshot, const std::string& lines) {
  Outcome outcome;
  std::size_t begin = 0;
  while (begin < lines.size()) {
    auto end = lines.find('\n', begin);
    if (end == std::string::npos) end = lines.size();
    const auto line = nlohmann::json::parse(lines.begin() + static_cast<std::ptrdiff_t>(begin),
                                            lines.begin() + static_cast<std::ptrdiff_t>(end));
    begin = end + 1;
    ++outcome.answered;
    const auto proto = engine::parse_query_proto(line.at("proto").get<std::string>());
    if (!proto) {
      ++outcome.errors;
      continue;
    }
    const auto query =
        engine::resolve_access_query(snapshot, line.at("src").get<std::string>(),
                                     line.at("dst").get<std::string>(), proto.value());
    if (!query) {
      ++outcome.errors;
      continue;
    }
    const bool accept = engine::answer_access_query(snapshot, query.value(), false).accept;
    if (accept == (line.at("expect").get<std::string>() == "accept")) ++outcome.equal;
  }
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: scale_inventory WORKLOAD_DIR (from gen_workload.py)\n");
    return 2;
  }
  const std::string dir = argv[1];
  const auto start = Clock::now();
  auto tailnet = slurp(dir + "/tailnet.json");
  auto policy_text = slurp(dir + "/policy.hujson");
  const auto queries = slurp(dir + "/queries.jsonl");
  if (!tailnet || !policy_text || !queries) {
    fmt::print(stderr, "scale_inventory: {} lacks tailnet.json, policy.hujson or queries.jsonl\n",
               dir);
    return 2;
  }
  const double read_s = cpu_seconds();

  double phase = cpu_seconds();
  auto loaded = engine::load_inventory_in_place(*tailnet);
  tailnet.reset();
  if (!loaded.inventory) {
    fmt::print(stderr, "inventory: {}: {}\n", loaded.errors.front().json_path,
               loaded.errors.front().message);
    return 1;
  }
  auto inventory = std::make_shared<const engine::Inventory>(std::move(*loaded.inventory));
  const double inventory_s = cpu_seconds() - phase;

  phase = cpu_seconds();
  auto policy = engine::load_policy(dir + "/policy.hujson", std::move(*policy_text),
                                    engine::validate_context(*inventory));
  if (!policy.ok()) {
    fmt::print(stderr, "policy has {} errors\n", policy.error_count());
    return 1;
  }
  const double policy_s = cpu_seconds() - phase;

  phase = cpu_seconds();
  auto engine =
      engine::Engine::compile(policy.file, *policy.ast, inventory, {.now = 1'800'000'000});
  const double compile_s = cpu_seconds() - phase;

  phase = cpu_seconds();
  const auto outcome = run_queries(*engine->snapshot(), *queries);
  const double queries_s = cpu_seconds() - phase;

  fmt::print(
      "devices {} | CPU: read {:.3f} s, inventory {:.3f} s, policy {:.3f} s, compile {:.3f} s, "
      "{} queries {:.3f} s | total {:.3f} s wall, {:.3f} s CPU, peak RSS {:.0f} MiB | {}/{} equal "
      "to expect, {} errors\n",
      inventory->devices.size(), read_s, inventory_s, policy_s, compile_s, outcome.answered,
      queries_s, seconds_since(start), cpu_seconds(), peak_rss_mib(), outcome.equal,
      outcome.answered, outcome.errors);
  return outcome.equal == outcome.answered ? 0 : 1;
}
