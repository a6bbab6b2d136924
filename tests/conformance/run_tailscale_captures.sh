#!/usr/bin/env bash
# ctest driver for Tailscale's capture conformance suite, read from ../shared beside the checkout
# (never copied into the repository). usage: run_tailscale_captures.sh POSTERN_BINARY SHARED_DIR
# Exit 0 when every check and case passes, 1 otherwise, 77 (ctest: skipped) without the suite.
set -u
bin=$1
suite=$2/conformance/tailscale-captures
if [[ ! -x "$suite/run.sh" ]]; then
  echo "skipped: $suite not found (the suite lives in ../shared beside the checkout)"
  exit 77
fi
out=$("$suite/run.sh" "$bin" --max-fail-lines 5)
status=$?
printf '%s\n' "$out" | grep -E 'FAIL|checks:|passed, ' | head -200
checks=$(printf '%s\n' "$out" | grep '^checks:')
cases=$(printf '%s\n' "$out" | tail -1)
[[ $status -eq 0 && $checks == *" 0 failed"* && $cases == *" 0 failed" ]]
