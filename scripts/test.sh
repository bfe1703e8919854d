#!/bin/sh
# The whole suite, in order: type check, unit, integration (real redis-server, real mlx), end to end, Python.
set -eu
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }
step "type check"
node_modules/.bin/tsc --noEmit -p tsconfig.json
step "unit tests"
node_modules/.bin/vitest run --project unit
step "integration tests (real redis-server, real mlx-lm on the tiny model)"
node_modules/.bin/vitest run --project integration
step "end-to-end tests (the CLI as a user runs it)"
node_modules/.bin/vitest run --project e2e --passWithNoTests
step "Python tests"
.venv/bin/python -m pytest -q python/tests
