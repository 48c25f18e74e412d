#!/usr/bin/env bash
# Bundles the browser JavaScript that is not Rust: the CodeMirror config
# editor (frontend/js/editor.mjs) into public/assets/vendor/editor.js and the
# uPlot metric charts (frontend/js/charts.mjs) into .../charts.js (+ .css),
# which cargo-leptos then copies to the site. Run before `cargo leptos build` or
# `cargo leptos watch`; scripts/run.sh and scripts/test.sh do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

vendor=public/assets/vendor
if [ ! -x node_modules/.bin/esbuild ]; then
  echo "esbuild missing: run scripts/install-deps.sh (npm ci) first" >&2
  exit 1
fi
mkdir -p "$vendor"
# bundle NAME GLOBAL: frontend/js/NAME.mjs -> $vendor/NAME.js, global GLOBAL.
bundle() {
  local out="$vendor/$1.js"
  esbuild "frontend/js/$1.mjs" --bundle --minify --format=iife \
    --global-name="$2" --target=es2020 --legal-comments=none \
    --log-level=warning --outfile="$out"
  printf '[build-js] %s: %s bytes (%s gzipped)\n' "$out" "$(wc -c <"$out")" "$(gzip -9c "$out" | wc -c)"
}
bundle editor TrainyardEditor
# uPlot's stylesheet comes out next to it as charts.css.
bundle charts TrainyardCharts
