#!/usr/bin/env bash
# Installs the dashboard's front-end packages (apps/dashboard/web/package-lock.json: uPlot) into
# apps/dashboard/web/node_modules, which the build compiles into the sieve binary. Does nothing
# when the locked versions are there. Needs node and npm (scripts/install-deps.sh installs them)
# and the npm registry at install time only: the binary never fetches anything.
set -euo pipefail

web=$(cd "$(dirname "${BASH_SOURCE[0]}")/../apps/dashboard/web" && pwd)
if [ ! -f "$web/node_modules/.package-lock.json" ] || ! cmp -s <(sed -n '/"node_modules\//,$p' "$web/package-lock.json") \
      <(sed -n '/"node_modules\//,$p' "$web/node_modules/.package-lock.json"); then
  echo "install-web: the dashboard's npm packages into $web/node_modules"
  (cd "$web" && npm ci --no-audit --no-fund)
fi
