#!/usr/bin/env bash
# Installs what is missing, builds the release server and web UI, and starts
# Trainyard at http://127.0.0.1:3000 with a local agent and the embedded
# SQLite store in ./.trainyard. Extra arguments go to `trainyard serve`
# (e.g. --fake-gpus 2 on a machine without NVIDIA GPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/install-deps.sh
scripts/build-js.sh
cargo leptos build --release --split --precompress
exec env LEPTOS_SITE_ROOT="$repo_root/target/site" "$target_dir/release/trainyard" serve "$@"
