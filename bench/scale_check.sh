#!/usr/bin/env bash
# The 100k-device target of issue 7, measured on the whole `postern check --batch` process: 1k
# rules × 10k and × 100k devices (../shared/workload/gen_workload.py), each run RUNS times under
# /usr/bin/time; every answer must equal the workload's `expect`.
#
# usage: bench/scale_check.sh POSTERN_BINARY [RUNS] [WORKDIR]
#   WORKDIR (default /tmp/postern-scale) keeps the generated workloads between runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
runs=${2:-5}
work=${3:-/tmp/postern-scale}
gen="$here/../../shared/workload/gen_workload.py"
[[ -f $gen ]] || { echo "scale_check: $gen not found (../shared beside the checkout)" >&2; exit 2; }

prepare() {  # devices -> workload dir with q.jsonl (queries without expect) and expect.txt
  local dir="$work/n1000_d$1"
  if [[ ! -f $dir/expect.txt ]]; then
    python3 "$gen" --rules 1000 --devices "$1" --queries 10000 --out "$dir" >/dev/null
    python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
with open(d + "/q.jsonl", "w") as q, open(d + "/expect.txt", "w") as e:
    for line in open(d + "/queries.jsonl"):
        query = json.loads(line)
        q.write(json.dumps({k: query[k] for k in ("src", "dst", "proto")}) + "\n")
        e.write(query["expect"] + "\n")
PY
  fi
  echo "$dir"
}

median() { sort -g | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }

measure() {  # devices
  local dir; dir=$(prepare "$1")
  local walls=() cpus=() rss=()
  for _ in $(seq "$runs"); do
    local t; t=$(mktemp)
    /usr/bin/time -f '%e %U %S %M' -o "$t" "$bin" check --policy "$dir/policy.hujson" \
      --tailnet "$dir/tailnet.json" --batch "$dir/q.jsonl" >"$work/out.txt"
    if ! cut -d' ' -f1 "$work/out.txt" | cmp -s - "$dir/expect.txt"; then
      echo "scale_check: answers differ from expect at $1 devices" >&2
      exit 1
    fi
    read -r wall user sys kib <"$t"
    rm -f "$t"
    walls+=("$wall")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u + s}')")
    rss+=("$((kib / 1024))")
  done
  printf '%s %s %s %s\n' "$1" "$(printf '%s\n' "${walls[@]}" | median)" \
    "$(printf '%s\n' "${cpus[@]}" | median)" "$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)"
}

mkdir -p "$work"
small=$(measure 10000)
large=$(measure 100000)
echo "devices  wall(median)  cpu(median)  peak RSS (max)   [$runs runs, 10,000 queries, answers = expect]"
for row in "$small" "$large"; do
  read -r n wall cpu mib <<<"$row"
  printf '%7s  %10s s  %9s s  %8s MiB\n' "$n" "$wall" "$cpu" "$mib"
done
read -r _ w10 _ _ <<<"$small"
read -r _ w100 _ _ <<<"$large"
echo "10k -> 100k: $(awk -v a="$w100" -v b="$w10" 'BEGIN{printf "%.1f", a / b}')x the wall time (target: <= 12x, <= 1.5 s, <= 400 MiB)"
