#!/usr/bin/env bash
# Issue 8's idle-connection target: the p99 of single checks under wrk, first alone, then while
# N idle connections (connected, nothing sent) are held open to the same server. Both runs in one
# go, against one running `postern serve` (start it with --max-connections-per-client above N,
# and an --idle-timeout longer than the run).
#
# usage: bench/idle_connections.sh WORKLOAD_DIR URL [IDLE=10000] [SECONDS=8] [CONNS=64]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/workload/http" && pwd)
wl=$1; url=$2; idle=${3:-10000}; secs=${4:-8}; conns=${5:-64}
work=$(mktemp -d)
holder_pid=""
trap '[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 "$here/queries_tsv.py" "$wl/queries.jsonl" "$work/queries.tsv"

measure() {  # label
  QFILE="$work/queries.tsv" wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$shared/cycle.lua" "$url" 2>&1 |
    awk -v l="$1" -v c="$conns" '/^ +50%/{p50=$2} /^ +99%/{p99=$2} /Requests\/sec/{rps=$2} /Non-2xx/{bad=$NF}
      END{printf "%-22s c=%-4s %10s req/s  p50 %-9s p99 %-9s non-2xx %s\n", l, c, rps, p50, p99, (bad==""?0:bad)}'
}

measure "without idle"
hostport=${url#http://}; hostport=${hostport%%/*}
python3 - "${hostport%:*}" "${hostport##*:}" "$idle" "$work/ready" <<'PY' &
import resource, socket, sys, time
host, port, n, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for i in range(n):
    s = socket.socket()
    s.connect((host, port))
    held.append(s)
open(ready, "w").write(str(len(held)))
time.sleep(3600)
PY
holder_pid=$!
while [ ! -f "$work/ready" ]; do
  kill -0 "$holder_pid" 2>/dev/null || { echo "could not open $idle connections" >&2; exit 1; }
  sleep 0.2
done
measure "with $(cat "$work/ready") idle"
