#!/usr/bin/env bash
# Runs the `trainyard` binary that scripts/run.sh built, with any arguments:
#   scripts/trainyard.sh submit examples/sweep.yaml
# (or copy "$target_dir/release/trainyard" onto your PATH).
set -euo pipefail
source "$(dirname "$0")/env.sh"
bin="$target_dir/release/trainyard"
if [ ! -x "$bin" ]; then
  echo "no trainyard binary at $bin yet: run scripts/run.sh once (it builds it)" >&2
  exit 1
fi
exec "$bin" "$@"
