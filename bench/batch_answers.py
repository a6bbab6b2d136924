#!/usr/bin/env python3
"""Posts the batch bodies of bench/batch_bodies.py to a running `postern serve` and compares every
decision with the workload's `expect` (the batch target counts only answers that are right).

usage: bench/batch_answers.py URL WORKLOAD_DIR/queries.jsonl BODIES_DIR [TOKEN]
  URL: the batch route, e.g. http://127.0.0.1:18080/v1/check/batch
Prints the mismatches and the count compared; exits 1 on any mismatch or failed request.
"""
import json
import os
import sys
import urllib.request

url, queries_path, bodies = sys.argv[1], sys.argv[2], sys.argv[3]
token = sys.argv[4] if len(sys.argv) > 4 else ""
queries = [json.loads(line) for line in open(queries_path)]
headers = {"Content-Type": "application/json"}
if token:
    headers["Authorization"] = "Bearer " + token
compared = mismatches = 0
for b in range(10):
    path = os.path.join(bodies, "batch%d.json" % b)
    if not os.path.exists(path):
        break
    request = urllib.request.Request(url, data=open(path, "rb").read(), headers=headers)
    results = json.load(urllib.request.urlopen(request))["results"]
    expected = queries[b * 1000:b * 1000 + len(results)]
    if len(results) != len(expected):
        print("batch%d: %d answers for %d queries" % (b, len(results), len(expected)))
        mismatches += 1
    for i, (got, want) in enumerate(zip(results, expected)):
        compared += 1
        if got.get("decision") != want["expect"]:
            mismatches += 1
            print("batch%d query %d: %s, expected %s" % (b, i, got.get("decision"), want["expect"]))
print("%d of %d decisions equal expect" % (compared - mismatches, compared))
sys.exit(1 if mismatches else 0)
