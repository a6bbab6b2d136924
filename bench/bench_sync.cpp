// A full Kandji sync of N devices from postern-kandji-sim on loopback: fetch (all pages over
// HTTP), map, match, diff and commit to SQLite. Each iteration starts from an empty store, so
// every device is written (the worst case). Run:
//   build/<dir>/bench/bench_sync --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "postern/store/store.hpp"
#include "postern/sync/sync_engine.hpp"

namespace {

using namespace postern::sync;

const std::string kToken = "7c1e5a3b-9d2f-4b6a-8e0c-4f2d6b8a0c1e";

struct Sim {
  pid_t pid = -1;
  int port = 0;
  Sim(std::size_t devices, const std::filesystem::path& dir) {
    const auto out = dir / "sim-out.txt";
    pid = ::fork();
    if (pid == 0) {
      if (std::freopen(out.c_str(), "w", stdout) == nullptr) ::_exit(127);
      // The simulator sits next to us in the build tree: <build>/bench/../tools/.
      const std::string bin =
          (std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "tools" /
           "postern-kandji-sim")
              .string();
      const std::string n = std::to_string(devices);
      ::execl(bin.c_str(), bin.c_str(), "--listen", "127.0.0.1:0", "--token", kToken.c_str(),
              "--generate", n.c_str(), "--seed", "1", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 30000 && port == 0; ++i) {
      std::ifstream in(out);
      std::string line;
      if (std::getline(in, line) && line.rfind("listening on ", 0) == 0) {
        port = std::stoi(line.substr(line.rfind(':') + 1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  ~Sim() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;
};

void BM_FullSync(benchmark::State& state) {
  const auto devices = static_cast<std::size_t>(state.range(0));
  const bool gzip = state.range(1) != 0;
  const auto dir =
      std::filesystem::temp_directory_path() / ("postern-bench-sync-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Sim sim(devices, dir);
  if (sim.port == 0) {
    state.SkipWithError("postern-kandji-sim did not start (build target postern-kandji-sim)");
    return;
  }
  std::vector<TailnetNode> nodes;
  {
    httplib::Client admin("127.0.0.1", sim.port);
    auto r = admin.Get("/_sim/devices");
    const auto doc = nlohmann::json::parse(r->body);
    const auto& list = doc.is_array() ? doc : doc.at("devices");
    for (const auto& d : list) {
      const std::string serial = d.value("serial_number", "");
      if (!serial.empty()) nodes.push_back(TailnetNode{"n-" + serial, serial, {serial}, false, {}});
    }
  }
  SystemClock clock;
  auto transport = make_curl_transport(CurlOptions{gzip});
  std::size_t matched = 0;
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto db = dir / ("bench-" + std::to_string(run++) + ".db");
    auto store = std::move(postern::store::open_sqlite_store(db).value());
    const auto now = to_unix(clock.now());
    auto integration =
        store
            ->create_integration(
                Integration{0, "kandji", "http://127.0.0.1:" + std::to_string(sim.port), 0, now,
                            now, ""},
                AuditEvent{0, now, "bench", "", std::string(kActionCreate), "{}", ""})
            .value();
    SyncEngine engine(*store, *transport, clock,
                      [](const Integration&) { return Result<std::string>(kToken); });
    state.ResumeTiming();
    auto report = engine.sync(integration, nodes);
    if (!report.ok) {
      state.SkipWithError(report.error->message.c_str());
      break;
    }
    matched = report.matched;
    state.PauseTiming();
    store.reset();
    std::filesystem::remove(db);
    std::filesystem::remove(db.string() + "-wal");
    std::filesystem::remove(db.string() + "-shm");
    state.ResumeTiming();
  }
  state.counters["devices"] = static_cast<double>(devices);
  state.counters["matched"] = static_cast<double>(matched);
  std::filesystem::remove_all(dir);
}

}  // namespace

BENCHMARK(BM_FullSync)
    ->Args({10'000, 0})
    ->Args({10'000, 1})
    ->ArgNames({"devices", "gzip"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_MAIN();
