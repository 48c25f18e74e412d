#!/usr/bin/env bash
# Installs what is missing and runs every test: Rust unit and integration
# tests, then the end-to-end browser tests against the release build (the
# build users get, wasm-opt applied) with real server and agent processes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# One cold build per run: incremental state would only cost time and disk
# (gigabytes of it). Developers' own `cargo test` keeps its default.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "tools"
scripts/install-deps.sh --with-browser
scripts/python-env.sh

step "style: rustfmt, and clippy on each side"
cargo fmt --all --check
# Server side (the default members: app gets `ssr` through the server) and
# browser side (app gets `hydrate` through the frontend) are linted apart,
# so the two features are never unified on one build of `app`.
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked -p trainyard-frontend --target wasm32-unknown-unknown -- -D warnings

step "rust tests"
# install-deps.sh installed promtool and prometheus, python-env.sh
# pyftpdlib: a missing one is a failure here, not a skipped test.
TRAINYARD_REQUIRE_PROMETHEUS=1 TRAINYARD_REQUIRE_FTP=1 cargo test --locked
# Core's browser-only code (wasm32), run in Node by wasm-bindgen-cli's test
# runner, which install-deps.sh installed at the pinned version.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --locked -p trainyard-core --target wasm32-unknown-unknown --test browser_decimal

step "release build (server + web UI, and the agent binary)"
scripts/build-js.sh
cargo leptos build --release --split --precompress
# cargo-leptos builds the server with `--cfg erase_components`
# (always-erase-components in Cargo.toml); the agent gets the same flags so
# the two share their dependencies' builds instead of rebuilding them.
RUSTFLAGS="--cfg erase_components" cargo build --locked --release -p trainyard-agent

step "end-to-end browser tests"
TRAINYARD_BIN_DIR="$target_dir/release" TRAINYARD_SITE_ROOT="$repo_root/target/site" npm run --silent e2e
