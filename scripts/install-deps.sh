#!/usr/bin/env bash
# Installs what building and testing Trainyard needs and is not yet on this
# machine. Idempotent: each step checks first, so a warm machine pays nothing.
# Usage: scripts/install-deps.sh [--with-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned tool versions. wasm-bindgen-cli must equal the `=` pin of the
# wasm-bindgen crate in Cargo.toml (checked below).
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
with_browser=0
[ "${1:-}" = "--with-browser" ] && with_browser=1

say() { printf '\033[1m[install]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding rust component $component"
    rustup component add "$component"
  fi
done

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 16 min on 2 cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "could not read the wasm-bindgen pin from Cargo.toml" >&2; exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 min, once)"
  # Not --locked: its lock file names a webpki-roots the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm packages: wasm-opt (npm's binaryen; Debian's is too old and breaks
# hydration), CodeMirror/uPlot bundling, playwright-core for end2end.
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/esbuild ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

if [ "$with_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# promtool and prometheus: the /metrics tests check the page with
# Prometheus's own parser and scrape it with a real Prometheus.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  say "installing Debian prometheus for the /metrics tests"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-upgrade prometheus >/dev/null
fi
say "all tools present"
