#!/usr/bin/env bash
# An attribute write sent while a policy is being saved through the API: how long the save takes
# and how long the write waits (decisions H44/H45). Fresh SQLite store; the saves alternate two
# texts of the workload's policy so that each one compiles (the first round saves the text in force:
# no compile).
#
# usage: bench/policy_save_writes.sh POSTERN WORKLOAD_DIR NODES_FILE [ROUNDS]
set -euo pipefail
bin=$1; wl=$2; nodes=$3; rounds=${4:-8}
work=$(mktemp -d)
port=${PORT:-18111}
token=$("$bin" keys create --db "$work/p.db" --expiry 1d --description bench 2>/dev/null | tail -1)
"$bin" serve --policy "$wl/policy.hujson" --tailnet "$wl/tailnet.json" --db "$work/p.db" \
  --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" && break; sleep 0.1; done
cp "$wl/policy.hujson" "$work/a.hujson"
{ echo "// b"; cat "$wl/policy.hujson"; } >"$work/b.hujson"
node=$(head -1 "$nodes")
for i in $(seq "$rounds"); do
  text=$work/a.hujson; [ $((i % 2)) = 0 ] && text=$work/b.hujson
  curl -s -o /dev/null -w "save %{http_code} %{time_total}s" -u "$token:" -X POST \
    -H "Content-Type: application/hujson" --data-binary @"$text" \
    "http://127.0.0.1:$port/api/v2/tailnet/-/acl" >"$work/save.out" &
  save=$!
  sleep 0.03  # into the compile
  curl -s -o /dev/null -w "  write during it %{http_code} %{time_total}s" -X POST \
    -H "Content-Type: application/json" -d "{\"value\": $i}" \
    "http://127.0.0.1:$port/v1/devices/$node/attributes/custom:bench" >"$work/write.out"
  wait $save
  echo "$(cat "$work/save.out")$(cat "$work/write.out")"
done
