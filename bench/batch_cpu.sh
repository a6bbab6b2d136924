#!/usr/bin/env bash
# Batch checks of `postern serve` as run.sh measures them (one connection, 1,000 queries per
# request), with the server's CPU time per query from /proc: on this host throughput varies
# between minutes, CPU per query much less, so builds are compared with it, in turn.
#
# usage: bench/batch_cpu.sh POSTERN WORKLOAD_DIR [SECONDS=5]
# Prints checks/s (wrk) and server CPU ns per query. PORT (default 18094) may be set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/workload/http" && pwd)
bin=$1; wl=$2; secs=${3:-5}
port=${PORT:-18094}
work=$(mktemp -d)
python3 "$here/batch_bodies.py" "$wl/queries.jsonl" "$work"
"$bin" serve --policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" \
  --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.2; done
load() {
  BATCH_DIR="$work" wrk -t1 -c1 -d"$1s" --timeout 60s -s "$shared/batch.lua" \
    "http://127.0.0.1:$port/v1/check/batch"
}
load 2 >/dev/null
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(ticks)
out=$(load "$secs" | grep BATCH)
after=$(ticks)
requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out")
checks=$(sed 's/.*checks\/s=\([0-9]*\).*/\1/' <<<"$out")
hz=$(getconf CLK_TCK)
echo "checks/s $checks  server CPU per query $(( (after - before) * 1000000000 / hz / (requests * 1000) )) ns"
