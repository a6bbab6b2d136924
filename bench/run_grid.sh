#!/usr/bin/env bash
# The benchmark grid of issue 3 in one run, so every figure is measured side by side:
#   1. generate the workloads (gen_workload.py: N in {10,100,1000} x D in {100,10000}, Q=10000,
#      seed 1, plus the scale point N=10000 x D=50000);
#   2. build and run the floor microbenchmark (the cheapest possible check on this machine);
#   3. run Postern's bench_eval (Release build) on every workload;
#   4. time `postern check --batch` over each queries.jsonl with hyperfine (whole process: load,
#      compile, 10,000 checks) and check every decision against the generator's `expect`;
#   5. optionally run the Cedar peer (cedar-wasm) on the standard grid;
# then print one table of medians and ratios.
#
# Usage: bench/run_grid.sh [--no-cedar] [--no-scale] [--quick] [--table-only]
#   --table-only: print the table again from the raw outputs of the last run
# Environment: SHARED_DIR (default ../shared next to the checkout), WORK_DIR (default /tmp/postern-grid),
#   BUILD_DIR (default <repo>/build/grid-release), CEDAR_DIR (default /tmp/peer-cedar),
#   BENCH_EVAL_ARGS (extra arguments for bench_eval), JOBS (default 2).
# bench_eval finds each workload through POSTERN_WORKLOAD_ROOT (a wl_n<N>_d<D> symlink per point)
# (Google Benchmark owns its command line).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$(cd "$ROOT/../shared" && pwd)}
WORKLOAD_DIR=$SHARED_DIR/workload
WORK_DIR=${WORK_DIR:-/tmp/postern-grid}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/grid-release}
CEDAR_DIR=${CEDAR_DIR:-/tmp/peer-cedar}
JOBS=${JOBS:-2}
QUERIES=10000
SEED=1
RUN_CEDAR=1
RUN_SCALE=1
TABLE_ONLY=0
REPS=5
RUNS=5
MIN_TIME=0.3

for arg in "$@"; do
  case $arg in
    --no-cedar) RUN_CEDAR=0 ;;
    --no-scale) RUN_SCALE=0 ;;
    --quick) REPS=3; RUNS=3; MIN_TIME=0.1 ;;
    --table-only) TABLE_ONLY=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_grid.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

for tool in python3 g++ cmake hyperfine; do
  command -v "$tool" >/dev/null || { echo "run_grid.sh: $tool is required" >&2; exit 2; }
done
[[ -f $WORKLOAD_DIR/gen_workload.py ]] || {
  echo "run_grid.sh: $WORKLOAD_DIR/gen_workload.py not found (set SHARED_DIR)" >&2; exit 2; }

GRID=(10:100 10:10000 100:100 100:10000 1000:100 1000:10000)
POINTS=("${GRID[@]}")
(( RUN_SCALE )) && POINTS+=(10000:50000)
RESULTS=$WORK_DIR/results
mkdir -p "$RESULTS"
log() { printf '== %s\n' "$*" >&2; }
dir_of() { echo "$WORK_DIR/v1_n$1_d$2_q${QUERIES}_s${SEED}"; }  # the Cedar peer's cache layout

measure() {
# ---- 1. workloads
for point in "${POINTS[@]}"; do
  n=${point%:*}; d=${point#*:}; dir=$(dir_of "$n" "$d")
  if [[ ! -f $dir/meta.json ]]; then
    log "generating N=$n D=$d"
    mkdir -p "$dir"
    python3 "$WORKLOAD_DIR/gen_workload.py" --rules "$n" --devices "$d" --queries "$QUERIES" \
      --seed "$SEED" --out "$dir" >"$dir.gen.log" 2>&1
  fi
done

# ---- 2. build Postern (Release) and the floor benchmark
log "building Postern (Release) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DPOSTERN_BUILD_TESTS=OFF \
  -DPOSTERN_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target postern bench_eval -j "$JOBS" >/dev/null
POSTERN=$BUILD_DIR/app/postern
BENCH_EVAL=$BUILD_DIR/bench/bench_eval
[[ -x $POSTERN && -x $BENCH_EVAL ]] || { echo "run_grid.sh: build produced no postern/bench_eval" >&2; exit 2; }

log "building the floor benchmark"
g++ -O2 -std=c++17 "$WORKLOAD_DIR/floor/floor_bench.cc" -lbenchmark -lpthread -o "$WORK_DIR/floor_bench"

# ---- 3. floor and bench_eval, back to back
log "running the floor benchmark"
"$WORK_DIR/floor_bench" --benchmark_filter='BM_Check_(Dep|Indep)/' \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_min_time="$MIN_TIME" --benchmark_format=json >"$RESULTS/floor.json" 2>/dev/null

for point in "${POINTS[@]}"; do
  n=${point%:*}; d=${point#*:}; dir=$(dir_of "$n" "$d")
  log "bench_eval N=$n D=$d"
  # bench_eval looks workloads up as $POSTERN_WORKLOAD_ROOT/wl_n<N>_d<D>.
  ln -sfn "$dir" "$WORK_DIR/wl_n${n}_d${d}"
  # shellcheck disable=SC2086 # BENCH_EVAL_ARGS is a word list on purpose
  POSTERN_WORKLOAD_ROOT=$WORK_DIR "$BENCH_EVAL" --benchmark_filter="/${n}/${d}\$" \
    --benchmark_repetitions="$REPS" \
    --benchmark_report_aggregates_only=true --benchmark_min_time="$MIN_TIME" \
    --benchmark_format=json ${BENCH_EVAL_ARGS:-} >"$RESULTS/bench_eval_n${n}_d${d}.json" 2>/dev/null
done

# ---- 4. postern check --batch: correctness, wall time, peak memory
for point in "${POINTS[@]}"; do
  n=${point%:*}; d=${point#*:}; dir=$(dir_of "$n" "$d")
  log "postern check --batch N=$n D=$d"
  # The generator's lines carry `expect` and other fields `check --batch` refuses (an unknown
  # field is an error there): the queries alone, in the same order.
  python3 -c 'import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        q = json.loads(line)
        out.write(json.dumps({k: q[k] for k in ("src", "dst", "proto") if k in q}) + "\n")' \
    "$dir/queries.jsonl" "$dir/batch_queries.jsonl"
  cmd=("$POSTERN" check --policy "$dir/policy.hujson" --tailnet "$dir/tailnet.json" --batch "$dir/batch_queries.jsonl")
  status=0
  /usr/bin/time -f '%M' -o "$RESULTS/batch_rss_n${n}_d${d}.txt" "${cmd[@]}" \
    >"$RESULTS/batch_out_n${n}_d${d}.txt" 2>"$RESULTS/batch_err_n${n}_d${d}.txt" || status=$?
  # Exit 1 only means "some query was denied"; 2 is an error.
  if (( status > 1 )); then
    echo "run_grid.sh: postern check --batch failed (exit $status) for N=$n D=$d:" >&2
    head -5 "$RESULTS/batch_err_n${n}_d${d}.txt" >&2
    exit 1
  fi
  hyperfine --warmup 1 --runs "$RUNS" -i --style none \
    --export-json "$RESULTS/batch_time_n${n}_d${d}.json" \
    "$(printf '%q ' "${cmd[@]}") >/dev/null" >/dev/null 2>&1
done

# ---- 5. the Cedar peer (standard grid only: the scale point would take hours in wasm)
if (( RUN_CEDAR )); then
  if [[ ! -f $CEDAR_DIR/node_modules/@cedar-policy/cedar-wasm/package.json ]]; then
    log "installing @cedar-policy/cedar-wasm@4.13.0 into $CEDAR_DIR"
    mkdir -p "$CEDAR_DIR"
    (cd "$CEDAR_DIR" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
      npm install --no-audit --no-fund @cedar-policy/cedar-wasm@4.13.0 >/dev/null)
  fi
  log "running the Cedar peer (several minutes)"
  (cd "$WORKLOAD_DIR/cedar" &&
    CEDAR_WASM=$CEDAR_DIR/node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm.js \
    node bench.mjs --work "$WORK_DIR" --queries "$QUERIES" --seed "$SEED" \
      --json "$RESULTS/cedar.json" >"$RESULTS/cedar.txt" 2>"$RESULTS/cedar.err")
else
  rm -f "$RESULTS/cedar.json"
fi

}
(( TABLE_ONLY )) || measure

# ---- 6. one table
python3 - "$RESULTS" "$WORK_DIR" "$QUERIES" "$SEED" "${POINTS[@]}" <<'PY'
import json, os, re, statistics, sys

results, work, queries, seed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
points = [tuple(int(x) for x in p.split(":")) for p in sys.argv[5:]]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def medians(bench_json):
    """name -> median CPU time in ns (Google Benchmark JSON; single runs count as their median).
    CPU time, not wall time: the machine is shared, and a descheduled benchmark's wall time
    measures the other processes."""
    out, single = {}, {}
    if not bench_json:
        return out
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    for b in bench_json.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        ns = b["cpu_time"] * scale.get(b.get("time_unit", "ns"), 1.0)
        if b.get("items_per_second"):  # a batch benchmark: time per item, not per iteration
            ns = 1e9 / b["items_per_second"]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[name] = ns
        else:
            single.setdefault(name, ns)
    for name, ns in single.items():
        out.setdefault(name, ns)
    return out

def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.2f} s"

floor = medians(load(os.path.join(results, "floor.json")))
def floor_at(kind, d):
    # The floor benchmark runs D=100 and D=10000; larger D uses 10000 (both miss the cache).
    arg = 100 if d <= 100 else 10000
    vals = [v for k, v in floor.items() if re.match(rf"BM_Check_{kind}/(flat|dense|umap)/{arg}$", k)]
    return min(vals) if vals else None

cedar = {}
cj = load(os.path.join(results, "cedar.json"))
if cj:
    for c in cj.get("configs", []):
        cedar[(c["rules"], c["devices"])] = c

print(f"# Postern benchmark grid (Q={queries}, seed {seed}), medians")
print()
print("Floor, CPU medians (isolated = BM_Check_Dep, batch = BM_Check_Indep; best of umap/flat/dense):",
      ", ".join(f"D={d}: {fmt_ns(floor_at('Dep', d))} / {fmt_ns(floor_at('Indep', d))}" for d in (100, 10000)))
print()
print("| N | D | bench_eval benchmark | median (CPU) | × floor |")
print("|---:|---:|---|---:|---:|")
for n, d in points:
    be = medians(load(os.path.join(results, f"bench_eval_n{n}_d{d}.json")))
    for name, ns in sorted(be.items()):
        lname = name.lower()
        ref = None
        if re.search(r"isolated|dep\b|latency|single", lname):
            ref = floor_at("Dep", d)
        elif re.search(r"batch|indep|throughput", lname):
            ref = floor_at("Indep", d)
        ratio = f"{ns / ref:.2f}" if ref else "-"
        print(f"| {n} | {d} | `{name}` | {fmt_ns(ns)} | {ratio} |")
    if not be:
        print(f"| {n} | {d} | (no bench_eval output) | - | - |")
print()
print("| N | D | `check --batch` wall (median) | per query | peak RSS | decisions = expect | Cedar-wasm per decision | Cedar / Postern per query | Postern per decision (isolated / batch, CPU) | Cedar / Postern per decision (isolated / batch) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
failed = False
for n, d in points:
    wl = os.path.join(work, f"v1_n{n}_d{d}_q{queries}_s{seed}")
    expect = []
    with open(os.path.join(wl, "queries.jsonl")) as f:
        for line in f:
            if line.strip():
                expect.append(json.loads(line)["expect"])
    try:
        with open(os.path.join(results, f"batch_out_n{n}_d{d}.txt")) as f:
            got = [line.split()[0] if line.split() else "" for line in f]
    except OSError:
        got = []
    matches = sum(1 for a, b in zip(got, expect) if a == b)
    ok = len(got) == len(expect) and matches == len(expect)
    failed |= not ok
    ht = load(os.path.join(results, f"batch_time_n{n}_d{d}.json"))
    wall = statistics.median(ht["results"][0]["times"]) * 1e9 if ht else None
    per_query = wall / len(expect) if wall else None
    try:
        with open(os.path.join(results, f"batch_rss_n{n}_d{d}.txt")) as f:
            rss = f"{int(f.read().split()[-1]) / 1024:.0f} MiB"
    except (OSError, ValueError, IndexError):
        rss = "-"
    c = cedar.get((n, d))
    cedar_ns = c["stateful"]["meanNs"] if c else None
    ratio = f"{cedar_ns / per_query:,.0f}×" if cedar_ns and per_query else "-"
    be = medians(load(os.path.join(results, f"bench_eval_n{n}_d{d}.json")))
    iso = be.get(f"BM_CheckIsolated/{n}/{d}")
    bat = be.get(f"BM_CheckBatch/{n}/{d}")
    per_decision = f"{fmt_ns(iso)} / {fmt_ns(bat)}" if iso and bat else "-"
    dratio = (f"{cedar_ns / iso:,.0f}× / {cedar_ns / bat:,.0f}×"
              if cedar_ns and iso and bat else "-")
    print(f"| {n} | {d} | {fmt_ns(wall)} | {fmt_ns(per_query)} | {rss} | "
          f"{matches}/{len(expect)}{'' if ok else ' MISMATCH'} | {fmt_ns(cedar_ns)} | {ratio} | "
          f"{per_decision} | {dratio} |")
print()
print("Per query = whole-process wall time / queries (load and compile included); Cedar per decision")
print("= statefulIsAuthorized mean with pre-parsed policies (cedar/README.md).")
sys.exit(1 if failed else 0)
PY
