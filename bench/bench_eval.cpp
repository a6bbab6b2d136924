// Evaluation benchmarks over ../shared/workload/gen_workload.py output (bench/README.md).
// Workloads are looked up as $POSTERN_WORKLOAD_ROOT/wl_n<N>_d<D> (default root /tmp), made by
//   python3 gen_workload.py --rules N --devices D --queries 10000 --updates 1000 --seed 1
//       --out /tmp/wl_nN_dD
// A benchmark whose workload is missing reports an error and is skipped.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/engine/policy_load.hpp"
#include "postern/grammar/hujson.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace {

using namespace postern;
namespace ip = grammar::ip;

std::string workload_dir(std::int64_t n, std::int64_t d) {
  const char* root = std::getenv("POSTERN_WORKLOAD_ROOT");
  return std::string(root != nullptr ? root : "/tmp") + "/wl_n" + std::to_string(n) + "_d" +
         std::to_string(d);
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Update {
  engine::DeviceIndex device = 0;
  engine::AttrChange change;
};

struct Workload {
  std::unique_ptr<grammar::SourceFile> file;
  grammar::policy::Ast ast;
  engine::Inventory inventory;
  std::vector<engine::Request> queries;
  std::vector<bool> expect;
  std::vector<Update> updates;
};

// Loads (once per size) the policy, inventory, queries and updates; nullptr when absent.
const Workload* load(std::int64_t n, std::int64_t d, std::string& error) {
  static std::map<std::pair<std::int64_t, std::int64_t>, std::unique_ptr<Workload>> cache;
  auto key = std::make_pair(n, d);
  if (auto it = cache.find(key); it != cache.end()) return it->second.get();
  const std::string dir = workload_dir(n, d);
  auto policy = slurp(dir + "/policy.hujson");
  auto tailnet = slurp(dir + "/tailnet.json");
  auto queries = slurp(dir + "/queries.jsonl");
  auto updates = slurp(dir + "/updates.jsonl");
  if (!policy || !tailnet || !queries || !updates) {
    error = "workload " + dir + " not found: run gen_workload.py --rules " + std::to_string(n) +
            " --devices " + std::to_string(d) + " --queries 10000 --updates 1000 --seed 1 --out " +
            dir;
    return nullptr;
  }
  auto w = std::make_unique<Workload>();
  // The one policy pipeline (parse, lower, validate) every front end uses.
  auto loaded = engine::load_policy(dir + "/policy.hujson", std::move(*policy));
  if (!loaded.ok()) {
    error = "policy is invalid:\n" + grammar::render_all(loaded.file, loaded.diags);
    return nullptr;
  }
  w->file = std::make_unique<grammar::SourceFile>(std::move(loaded.file));
  w->ast = std::move(*loaded.ast);
  auto inv = engine::load_inventory(*tailnet);
  if (!inv.inventory) {
    error = "inventory does not load";
    return nullptr;
  }
  w->inventory = std::move(*inv.inventory);
  std::map<std::string, std::size_t> by_host, by_id;
  for (std::size_t i = 0; i < w->inventory.devices.size(); ++i) {
    by_host[w->inventory.devices[i].hostname] = i;
    by_id[w->inventory.devices[i].id] = i;
  }
  std::istringstream ql(*queries);
  for (std::string line; std::getline(ql, line);) {
    auto j = nlohmann::json::parse(line);
    engine::Request q;
    q.src = w->inventory.devices[by_host.at(j["src"].get<std::string>())].addresses.at(0);
    q.dst = *ip::parse_address(j["dstIp"].get<std::string>());
    q.port = j["port"].get<std::uint16_t>();
    q.proto = j["proto"] == "udp" ? engine::kProtoUdp : engine::kProtoTcp;
    q.explain = false;
    w->queries.push_back(q);
    w->expect.push_back(j["expect"] == "accept");
  }
  std::istringstream ul(*updates);
  for (std::string line; std::getline(ul, line);) {
    auto j = nlohmann::json::parse(line);
    Update u;
    u.device = static_cast<engine::DeviceIndex>(by_id.at(std::to_string(j["node"].get<int>())));
    const auto attr = j["attr"].get<std::string>();
    const auto& v = j["value"];
    if (v.is_null()) {
      u.change = engine::AttrChange::remove(attr);
    } else if (v.is_boolean()) {
      u.change = engine::AttrChange::set(attr, v.get<bool>());
    } else if (v.is_number()) {
      u.change = engine::AttrChange::set(attr, v.get<double>());
    } else {
      u.change = engine::AttrChange::set(attr, v.get<std::string>());
    }
    w->updates.push_back(std::move(u));
  }
  return (cache[key] = std::move(w)).get();
}

std::unique_ptr<engine::Engine> compile(const Workload& w) {
  return engine::Engine::compile(*w.file, w.ast, w.inventory, engine::CompileOptions{0});
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

#define LOAD_OR_SKIP(state, w)                                          \
  std::string error_;                                                   \
  const Workload* w = load((state).range(0), (state).range(1), error_); \
  if ((w) == nullptr) {                                                 \
    (state).SkipWithError(error_.c_str());                              \
    return;                                                             \
  }

// Latency: each query is chosen by the previous answer, so cache misses serialise (floor's _Dep).
void BM_CheckIsolated(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  const std::size_t n = w->queries.size();
  std::size_t i = 0;
  std::size_t mismatches = 0;
  for (auto _ : state) {
    const auto d = e->check(w->queries[i]);
    mismatches += d.allow != w->expect[i] ? 1U : 0U;
    i += 1 + static_cast<std::size_t>(d.allow);
    if (i >= n) i -= n;
  }
  state.counters["mismatches"] = static_cast<double>(mismatches);
  state.SetItemsProcessed(state.iterations());
}

// Same through a held snapshot (no atomic load per query).
void BM_CheckIsolatedSnapshot(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  auto snap = e->snapshot();
  const std::size_t n = w->queries.size();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto d = snap->check(w->queries[i]);
    i += 1 + static_cast<std::size_t>(d.allow);
    if (i >= n) i -= n;
  }
  state.SetItemsProcessed(state.iterations());
}

// Throughput: independent queries over one snapshot through check_batch, as `postern check
// --batch` runs them (time per item = total / queries); `mismatches` counts decisions that
// differ from the generator's `expect`.
void BM_CheckBatch(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  auto snap = e->snapshot();
  const std::size_t n = w->queries.size();
  auto allow = std::make_unique<bool[]>(n);
  const std::span<bool> out(allow.get(), n);
  for (auto _ : state) {
    snap->check_batch(w->queries, out);
    benchmark::DoNotOptimize(allow.get());
    benchmark::ClobberMemory();
  }
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) mismatches += out[i] != w->expect[i] ? 1U : 0U;
  state.counters["mismatches"] = static_cast<double>(mismatches);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// The same queries one check() at a time (no look-ahead), for comparison with check_batch.
void BM_CheckOneByOne(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  auto snap = e->snapshot();
  std::size_t allowed = 0;
  for (auto _ : state) {
    for (const auto& q : w->queries) allowed += snap->check(q).allow ? 1U : 0U;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w->queries.size()));
}

// A deny explained: near-miss rules with failing conditions and actual values.
void BM_CheckExplained(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  std::vector<engine::Request> denies;
  for (std::size_t i = 0; i < w->queries.size(); ++i) {
    if (!w->expect[i]) {
      denies.push_back(w->queries[i]);
      denies.back().explain = true;
    }
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e->check(denies[i]));
    if (++i == denies.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// One attribute change applied and visible to the next check of that device.
void BM_UpdateThenCheck(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  auto e = compile(*w);
  const auto& devices = w->inventory.devices;
  std::size_t i = 0;
  std::size_t reevaluated = 0;
  for (auto _ : state) {
    const auto& u = w->updates[i];
    const auto r = e->apply(u.device, std::span<const engine::AttrChange>(&u.change, 1), 0);
    reevaluated += r.postures_reevaluated;
    engine::Request q = w->queries[i % w->queries.size()];
    q.src = devices[u.device].addresses.at(0);
    benchmark::DoNotOptimize(e->check(q));
    if (++i == w->updates.size()) i = 0;
  }
  state.counters["postures_per_update"] = benchmark::Counter(
      static_cast<double>(reevaluated) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

// Compile (selectors, postures, rows) of an already parsed policy and loaded inventory.
void BM_Compile(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  for (auto _ : state) {
    auto e = compile(*w);
    benchmark::DoNotOptimize(e.get());
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

// Load (parse, lower, validate: engine::load_policy) + compile from the policy text (the
// inventory already loaded).
void BM_ParseAndCompile(benchmark::State& state) {
  LOAD_OR_SKIP(state, w);
  for (auto _ : state) {
    auto loaded = engine::load_policy(w->file->path(), std::string(w->file->text()));
    auto e = engine::Engine::compile(loaded.file, *loaded.ast, w->inventory, {});
    benchmark::DoNotOptimize(e.get());
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

void grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {10, 100, 1000}) {
    for (std::int64_t d : {100, 10000}) b->Args({n, d});
  }
}

}  // namespace

BENCHMARK(BM_CheckIsolated)->Apply(grid);
BENCHMARK(BM_CheckIsolatedSnapshot)->Apply(grid);
BENCHMARK(BM_CheckBatch)->Apply(grid);
BENCHMARK(BM_CheckOneByOne)->Apply(grid);
BENCHMARK(BM_CheckExplained)->Args({1000, 10000});
BENCHMARK(BM_UpdateThenCheck)->Apply(grid);
BENCHMARK(BM_Compile)->Apply(grid)->Args({10000, 50000})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseAndCompile)->Args({1000, 10000})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
