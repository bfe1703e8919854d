#!/bin/sh
# Idempotent set-up for a fresh clone on macOS (Homebrew) or Debian/Ubuntu: Node dependencies, the
# Python venv with pinned mlx-lm, and redis-server. One line per step; re-running does nothing new.
# Usage: sh scripts/setup.sh [--with-browser]   (--with-browser also installs Chromium for the UI test)
set -eu
cd "$(dirname "$0")/.."
with_browser=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    *) echo "setup: unknown option $arg (allowed: --with-browser)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }
os=$(uname -s)
is_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Node
command -v node >/dev/null 2>&1 || fail "Node.js 20 or newer is required: install it (brew install node@20, or see nodejs.org) and re-run."
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js $(node -v) is too old; install Node.js 20 or newer and re-run."
if [ -L node_modules ]; then
  # A git worktree sharing another checkout's dependencies: npm ci would empty the folder the link points to.
  say "Node dependencies: node_modules links to $(readlink node_modules); left as it is (run npm ci there if it is out of date)"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
  say "Node dependencies up to date"
fi

# Python venv with pinned mlx-lm
case "$os" in
  Darwin) req=python/requirements-macos.txt ;;
  *) req=python/requirements-linux.txt ;;
esac
py=${PYTHON:-python3}
command -v "$py" >/dev/null 2>&1 || fail "python3 (3.10 or newer) is required: brew install python@3.11 / apt-get install python3 python3-venv"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || fail "$($py --version) is too old; MLX needs Python 3.10 or newer."
req_sum=$(cat "$req" python/requirements.txt | cksum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  say "creating the Python virtual environment (.venv)"
  "$py" -m venv .venv || fail "could not create .venv: on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"
fi
if [ "$(cat .venv/.requirements-sum 2>/dev/null || true)" != "$req_sum" ]; then
  say "installing pinned Python packages from $req (mlx-lm, tokenizers, pytest)"
  (cd python && ../.venv/bin/python -m pip install -q --disable-pip-version-check -r "$(basename "$req")") \
    || fail "pip install failed; see the output above"
  echo "$req_sum" > .venv/.requirements-sum
else
  say "Python packages up to date"
fi

# OpenBLAS for MLX's CPU backend on Linux: the mlx-cpu wheel bundles the reference BLAS, about 8x slower
# for the tiny model's training; src/train/mlx-env.ts preloads OpenBLAS when it is present.
if [ "$os" = Linux ] && command -v apt-get >/dev/null 2>&1 && is_root && ! ldconfig -p | grep -q 'libopenblas.so.0 '; then
  say "installing OpenBLAS for MLX on CPU (apt-get install libopenblas0-pthread)"
  apt_install libopenblas0-pthread
fi

# redis-server >= 6.2
redis_ok() {
  command -v redis-server >/dev/null 2>&1 || return 1
  v=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  set -- $v
  [ "${1:-0}" -gt 6 ] || { [ "${1:-0}" -eq 6 ] && [ "${2:-0}" -ge 2 ]; }
}
if redis_ok; then
  say "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') present"
elif [ "$os" = Darwin ] && command -v brew >/dev/null 2>&1; then
  say "installing redis-server (brew install redis)"
  brew install redis >/dev/null
elif [ "$os" = Linux ] && command -v apt-get >/dev/null 2>&1 && is_root; then
  say "installing redis-server (apt-get install redis-server)"
  apt_install redis-server
else
  fail "redis-server 6.2 or newer is missing: run 'brew install redis' (macOS) or 'sudo apt-get install redis-server' (Debian/Ubuntu), then re-run."
fi
redis_ok || fail "redis-server 6.2 or newer is required; found: $(redis-server --version 2>/dev/null || echo none)"

if [ "$with_browser" = 1 ]; then
  if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ]; then
    say "Chromium present"
  elif [ "$os" = Linux ] && command -v apt-get >/dev/null 2>&1 && is_root; then
    say "installing Chromium for the dashboard browser test (apt-get install chromium)"
    apt_install chromium
  elif [ "$os" = Darwin ] && [ -d "/Applications/Google Chrome.app" ]; then
    say "Google Chrome present"
  else
    fail "the dashboard browser test needs Chromium: 'sudo apt-get install chromium' (Debian/Ubuntu), install Google Chrome (macOS), or set CHROMIUM_PATH."
  fi
fi
say "ready"
