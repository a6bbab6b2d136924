#!/usr/bin/env bash
# System calls and server CPU per single check of `postern serve`: exact counts where this host's
# timings are not. Starts the server, warms it up, then runs `wrk cycle.lua` over the workload's
# queries while `perf stat` counts the server threads' system calls by type and /proc gives its
# CPU time; both are divided by the checks answered.
#
# usage: bench/check_syscalls.sh POSTERN WORKLOAD_DIR [CONNS=8] [SECONDS=4]
# Needs perf (linux-perf) with tracepoints readable (run as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/workload/http" && pwd)
bin=$1; wl=$2; conns=${3:-8}; secs=${4:-4}
port=${PORT:-18092}
threads=2; [ "$conns" -lt 2 ] && threads=1
work=$(mktemp -d)
python3 "$here/queries_tsv.py" "$wl/queries.jsonl" "$work/queries.tsv"
"$bin" serve --policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" --listen "127.0.0.1:$port" \
  >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.2; done
load() {
  QFILE="$work/queries.tsv" wrk -t"$threads" -c"$conns" -d"$1s" -s "$shared/cycle.lua" \
    "http://127.0.0.1:$port/v1/check"
}
load 1 >/dev/null
events=raw_syscalls:sys_enter
for call in epoll_wait epoll_ctl recvfrom sendto futex timerfd_settime; do
  events+=",syscalls:sys_enter_$call"
done
perf stat -x, -e "$events" -t "$(ls /proc/$pid/task | paste -sd,)" -o "$work/perf.csv" &
perf_pid=$!
sleep 0.3
read -r user0 sys0 < <(awk '{print $14, $15}' /proc/$pid/stat)
load "$secs" >"$work/wrk.out"
read -r user1 sys1 < <(awk '{print $14, $15}' /proc/$pid/stat)
kill -INT $perf_pid; wait $perf_pid || true
checks=$(awk '/requests in/{print $1}' "$work/wrk.out")
tick=$(getconf CLK_TCK)
echo "connections $conns, $checks checks, $(awk '/Requests\/sec/{print $2}' "$work/wrk.out") checks/s"
awk -v n="$checks" -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v hz="$tick" 'BEGIN {
  printf "server CPU per check: user %.1f us, system %.1f us\n", u * 1e6 / hz / n, s * 1e6 / hz / n }'
awk -F, -v n="$checks" '$1 ~ /^[0-9]+$/ {
  name = $3; sub("syscalls:sys_enter_", "", name); sub("raw_syscalls:sys_enter", "all", name)
  printf "  %s %.2f", name, $1 / n } END { print "  (system calls per check)" }' "$work/perf.csv"
