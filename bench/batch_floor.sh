#!/usr/bin/env bash
# The batch route next to its transport floor, in one run: nginx answering the same POSTs (the
# workload's 1,000-query bodies, one connection, ../shared/workload/http/batch.lua) with a fixed
# answer of the same size as Postern's, read from a file. nginx reads and drops each body and
# sends the file without parsing or checking anything, so its figure is what this machine's
# loopback, wrk and an HTTP server leave for a batch of this size; Postern's is set beside it.
#
# usage: bench/batch_floor.sh POSTERN WORKLOAD_DIR [SECONDS=5] [ROUNDS=2]
# Needs nginx and wrk (Debian packages). PORT (default 18098; PORT+1 for nginx) may be set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/workload/http" && pwd)
bin=$1; wl=$2; secs=${3:-5}; rounds=${4:-2}
port=${PORT:-18098}; floor_port=$((port + 1))
work=$(mktemp -d)
python3 "$here/batch_bodies.py" "$wl/queries.jsonl" "$work"
"$bin" serve --policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" \
  --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -f "$work/nginx.pid" ] &&
  kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.2; done
# The floor's answer: Postern's own answer to the first body, so both send the same bytes.
mkdir "$work/root"
curl -sf -H 'Content-Type: application/json' --data-binary "@$work/batch0.json" \
  "http://127.0.0.1:$port/v1/check/batch" -o "$work/root/answer.json"
cat >"$work/nginx.conf" <<NGX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work;
  client_max_body_size 16m;
  server {
    listen 127.0.0.1:$floor_port backlog=4096;
    keepalive_requests 1000000;
    # A POST to a file is refused (405) and answered with the file: the body is read and dropped.
    location / { root $work/root; default_type application/json; error_page 405 =200 \$uri; }
  }
}
NGX
nginx -c "$work/nginx.conf"
sleep 0.3
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "@$work/batch0.json" "http://127.0.0.1:$floor_port/answer.json")
[ "$status" = 200 ] || { echo "the nginx floor answered $status, not 200" >&2; exit 1; }
load() {  # url seconds
  BATCH_DIR="$work" wrk -t1 -c1 -d"$2s" --timeout 60s -s "$shared/batch.lua" "$1" | grep BATCH
}
load "http://127.0.0.1:$floor_port/answer.json" 1 >/dev/null
load "http://127.0.0.1:$port/v1/check/batch" 1 >/dev/null
echo "answer bytes: $(stat -c %s "$work/root/answer.json"), request bytes: $(stat -c %s "$work/batch0.json")"
for _ in $(seq "$rounds"); do
  echo "floor   $(load "http://127.0.0.1:$floor_port/answer.json" "$secs")"
  echo "postern $(load "http://127.0.0.1:$port/v1/check/batch" "$secs")"
done
