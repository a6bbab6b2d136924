#!/usr/bin/env bash
# Attribute writes through the API against one `postern serve` started here: writes/s and p99
# from wrk, server CPU per write from /proc (the HTTP threads, the committer, all threads), and
# optionally system calls per write. Fresh database per run.
#
# usage: bench/attr_writes.sh POSTERN WORKLOAD_DIR NODES_FILE CONNS [--memory] [--syscalls] [--seconds S]
#   NODES_FILE: node ids, one per line (bench/README.md, "Attribute writes through the API")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1; wl=$2; nodes=$3; conns=$4; shift 4
memory=0; syscalls=0; secs=5
while [ $# -gt 0 ]; do
  case $1 in
    --memory) memory=1; shift ;;
    --syscalls) syscalls=1; shift ;;
    --seconds) secs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
port=${PORT:-18090}
store=(--db "$work/writes.db"); [ $memory = 1 ] && store=()
"$bin" serve --policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" \
  --listen "127.0.0.1:$port" "${store[@]}" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.1; done
kill -0 $pid 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }

ticks() { for t in $(ls /proc/$pid/task | sort -n); do awk '{printf "%d ", $14+$15}' /proc/$pid/task/$t/stat; done; }
if [ $syscalls = 1 ]; then
  perf stat -x, -e 'syscalls:sys_enter_pwrite64,syscalls:sys_enter_fcntl,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_pread64,syscalls:sys_enter_fdatasync' \
    -p $pid -o "$work/syscalls.csv" &
  perf_pid=$!
fi
before=$(ticks)
NODES=$nodes wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$here/attr_writes.lua" \
  "http://127.0.0.1:$port/" >"$work/wrk.out"
after=$(ticks)
if [ $syscalls = 1 ]; then kill -INT $perf_pid; wait $perf_pid || true; fi
python3 - "$work/wrk.out" "$before" "$after" "$conns" "$work/syscalls.csv" "$syscalls" <<'PY'
import re, sys
wrk, before, after, conns, csv, want = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
n = int(re.search(r"(\d+) requests in", wrk).group(1))
rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", wrk, re.MULTILINE).group(1)  # not a Stdev like 98.99%
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
b = [int(x) for x in before.split()]; a = [int(x) for x in after.split()]
a += [0] * (len(b) - len(a)); b += [0] * (len(a) - len(b))
d = [y - x for x, y in zip(b, a)]  # threads by id: main, the HTTP threads, ..., committer, checkpointer
us = lambda t: t * 10_000 / n     # 100 ticks a second
http = sum(d[1:3]); committer = max(d[3:], default=0)
print(f"c={conns} {rps} writes/s p99 {p99} non-2xx {bad.group(1) if bad else 0}  "
      f"CPU per write: HTTP threads {us(http):.1f} us, committer {us(committer):.1f} us, all {us(sum(d)):.1f} us")
if want == "1":
    total = 0.0; parts = []
    for line in open(csv):
        f = line.strip().split(",")
        if len(f) > 2 and f[2].startswith("syscalls:"):
            per = float(f[0]) / n; total += per; parts.append(f"{f[2].split('_enter_')[1]} {per:.2f}")
    print("system calls per write: " + ", ".join(parts) + f"; all {total:.2f}")
PY
