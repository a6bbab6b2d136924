#!/usr/bin/env python3
"""A workload's queries.jsonl as the tab-separated lines cycle.lua reads: src, dst, proto, expect.

usage: bench/queries_tsv.py WORKLOAD_DIR/queries.jsonl OUT.tsv
"""
import json
import sys

with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        q = json.loads(line)
        out.write("\t".join([q["src"], q["dst"], q.get("proto", "tcp"), q["expect"]]) + "\n")
