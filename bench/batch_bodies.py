#!/usr/bin/env python3
"""A workload's queries as the batch bodies ../shared/workload/http/batch.lua sends: batch0.json ..
batch9.json, {"queries": [1000 queries]} each, the same bodies run.sh makes for --batch-url.

usage: bench/batch_bodies.py WORKLOAD_DIR/queries.jsonl OUT_DIR
"""
import json
import sys

queries = [json.loads(line) for line in open(sys.argv[1])]
for b in range(10):
    chunk = [{k: q[k] for k in ("src", "dst", "proto") if k in q}
             for q in queries[b * 1000:(b + 1) * 1000]]
    if chunk:
        with open("%s/batch%d.json" % (sys.argv[2], b), "w") as out:
            json.dump({"queries": chunk}, out)
