#!/usr/bin/env bash
# User-space instructions per request of `postern serve`, counted by callgrind: exact where this
# host's timings are not. The server starts with instrumentation off; it is switched on for the
# measured wrk run only (after a warm-up), and the total is divided by the requests answered.
#
# usage: bench/count_instructions.sh POSTERN WORKLOAD_DIR checks|batch|writes [CONNS=8] [SECONDS=10]
#   checks: single checks (../shared/workload/http/cycle.lua over the workload's queries)
#   batch: batch requests of 1,000 queries (../shared/workload/http/batch.lua; CONNS is ignored,
#          one connection as run.sh); the figure is per query, not per request
#   writes: attribute writes to a fresh database (bench/attr_writes.lua; NODES=file of node ids)
# Needs valgrind. Leaves the profile in $OUT (default /tmp/postern-callgrind) for callgrind_annotate;
# CALLGRIND_FLAGS are added to valgrind's (--separate-threads=yes: a profile per thread).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/workload/http" && pwd)
bin=$1; wl=$2; kind=$3; conns=${4:-8}; secs=${5:-10}
out=${OUT:-/tmp/postern-callgrind}
port=${PORT:-18091}
work=$(mktemp -d)
args=(--policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" --listen "127.0.0.1:$port")
case $kind in
  checks)
    python3 "$here/queries_tsv.py" "$wl/queries.jsonl" "$work/queries.tsv"
    load() { QFILE="$work/queries.tsv" wrk -t1 -c"$conns" -d"$1s" -s "$shared/cycle.lua" "http://127.0.0.1:$port/v1/check"; } ;;
  batch)
    python3 "$here/batch_bodies.py" "$wl/queries.jsonl" "$work"
    load() { BATCH_DIR="$work" wrk -t1 -c1 -d"$1s" --timeout 60s -s "$shared/batch.lua" "http://127.0.0.1:$port/v1/check/batch"; } ;;
  writes)
    args+=(--db "$work/writes.db")
    load() { NODES=${NODES:?NODES=file of node ids} wrk -t1 -c"$conns" -d"$1s" -s "$here/attr_writes.lua" "http://127.0.0.1:$port/"; } ;;
  *) echo "checks, batch or writes, not $kind" >&2; exit 2 ;;
esac
rm -f "$out".*
valgrind --tool=callgrind ${CALLGRIND_FLAGS:-} --instr-atstart=no --callgrind-out-file="$out.%p" "$bin" serve "${args[@]}" \
  >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.5; done
load 2 >/dev/null
callgrind_control -i on $pid >/dev/null 2>&1
load "$secs" >"$work/wrk.out"
callgrind_control -i off $pid >/dev/null 2>&1
callgrind_control -d $pid >/dev/null 2>&1
requests=$(awk '/requests in/{print $1}' "$work/wrk.out")
[ "$kind" = batch ] && requests=$((requests * 1000))
# One profile, or one per thread with CALLGRIND_FLAGS=--separate-threads=yes: summed.
total=$(for f in "$out.$pid.1"*; do callgrind_annotate "$f" 2>/dev/null; done |
  awk '/PROGRAM TOTALS/{gsub(",", "", $1); sum += $1} END{print sum}')
echo "$kind: $requests requests, $total instructions, $((total / requests)) per request (profile $out.$pid.1)"
