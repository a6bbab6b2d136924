// HuJSON parsing throughput on a large generated policy, next to nlohmann::json::parse of the
// same bytes with comments blanked (nlohmann accepts neither comments nor trailing commas).
//
//   python3 /work/shared/workload/gen_workload.py --rules 10000 --devices 1000 --queries 10
//       --out /tmp/wl
//   build/release/bench/bench_parse [POLICY.hujson]   (or POSTERN_BENCH_POLICY=...)
//
// Default input: /tmp/wl/policy.hujson. When it is missing every benchmark is skipped with a
// message saying how to generate it.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "postern/grammar/hujson.hpp"

namespace {

namespace hujson = postern::grammar::hujson;
using postern::grammar::SourceFile;
using postern::grammar::Span;

struct Inputs {
  std::string path;
  std::optional<SourceFile> hujson_file;  // the policy as written
  std::string standard_json;              // comments and trailing commas blanked
  std::string problem;                    // why the benchmarks are skipped
};

Inputs& inputs() {
  static Inputs in;
  return in;
}

void load(const std::string& path) {
  auto& in = inputs();
  in.path = path;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    in.problem = "policy file `" + path +
                 "` not found; generate it with: python3 /work/shared/workload/gen_workload.py "
                 "--rules 10000 --devices 1000 --queries 10 --out /tmp/wl";
    return;
  }
  std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  in.hujson_file.emplace(path, std::move(text));
  auto standard = hujson::standardize(*in.hujson_file);
  if (!standard.ok()) {
    in.problem = "policy file `" + path + "` is not valid HuJSON: " +
                 postern::grammar::render_all(*in.hujson_file, standard.diags);
    return;
  }
  in.standard_json = std::move(*standard.value);
}

bool skipped(benchmark::State& state) {
  if (inputs().problem.empty()) return false;
  state.SkipWithError(inputs().problem.c_str());
  return true;
}

// Builds the json::Value document with spans (what `postern validate` does).
void BM_HujsonParse(benchmark::State& state) {
  if (skipped(state)) return;
  const SourceFile& file = *inputs().hujson_file;
  for (auto _ : state) {
    auto parsed = hujson::parse(file);
    if (!parsed.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(file.text().size()));
}
BENCHMARK(BM_HujsonParse)->Unit(benchmark::kMillisecond);

// Events only, no document (the `postern hujson` validation pass).
class CountingEvents final : public hujson::Events {
 public:
  void null_value(Span /*span*/) override { ++count_; }
  void bool_value(bool /*value*/, Span /*span*/) override { ++count_; }
  void number_value(std::string_view /*text*/, Span /*span*/) override { ++count_; }
  void string_value(std::string_view /*decoded*/, bool /*verbatim*/, Span /*span*/) override {
    ++count_;
  }
  void begin_array(std::uint32_t /*begin*/) override { ++count_; }
  void end_array(Span /*span*/) override {}
  void begin_object(std::uint32_t /*begin*/) override { ++count_; }
  void key(std::string_view /*decoded*/, bool /*verbatim*/, Span /*span*/) override {}
  void end_object(Span /*span*/) override {}
  [[nodiscard]] std::size_t count() const { return count_; }

 private:
  std::size_t count_ = 0;
};

void BM_HujsonEvents(benchmark::State& state) {
  if (skipped(state)) return;
  const std::string& text = inputs().hujson_file->text();
  for (auto _ : state) {
    CountingEvents events;
    if (hujson::parse_events(text, events)) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(events.count());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_HujsonEvents)->Unit(benchmark::kMillisecond);

// The reference: nlohmann::json's DOM parse of the same bytes as standard JSON.
void BM_NlohmannParse(benchmark::State& state) {
  if (skipped(state)) return;
  const std::string& text = inputs().standard_json;
  for (auto _ : state) {
    auto doc = nlohmann::json::parse(text);
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_NlohmannParse)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string path = "/tmp/wl/policy.hujson";
  if (const char* env = std::getenv("POSTERN_BENCH_POLICY"); env != nullptr && *env != '\0') {
    path = env;
  }
  if (argc > 1) path = argv[1];  // flags benchmark did not consume: the policy path
  load(path);
  if (!inputs().problem.empty()) std::cerr << "bench_parse: skipping: " << inputs().problem << "\n";
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
