#!/usr/bin/env bash
# ctest entry for the console's browser tests: skips (77) with a message when chromium, node or
# the test's node_modules (scripts/install-deps) are missing.
# Usage: run.sh POSTERN KANDJI_SIM ARTIFACT_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${POSTERN_CHROMIUM:-$(command -v chromium || true)}"
if [[ -z "$chromium" ]]; then
  echo "SKIP: chromium is not installed (scripts/install-deps installs Debian's chromium)"; exit 77
fi
if ! command -v node > /dev/null; then
  echo "SKIP: node is not installed (scripts/install-deps installs nodejs and npm)"; exit 77
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "SKIP: tests/console/node_modules is missing (scripts/install-deps runs npm ci there)"; exit 77
fi
exec node "$here/console_test.mjs" --postern "$1" --sim "$2" --artifacts "$3" --chromium "$chromium"
