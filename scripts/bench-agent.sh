#!/usr/bin/env bash
# The agent's footprint (docs/benchmarks.md, "Agent footprint"): RSS and CPU
# of an idle `trainyard-agent` with 8 fake GPUs, then while a job prints
# 1 MB/s of log, beside two baselines sampled the same way in the same run.
#   scripts/bench-agent.sh [idle seconds, default 600] [log seconds, default 120]
# Builds the release agent and server first (SKIP_BUILD=1 reuses them;
# TRAINYARD_BIN=path uses another server binary: the server only answers).
# Other flags go to agent/benches/footprint.py (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
idle="${1:-600}" log="${2:-120}"
shift $(( $# < 2 ? $# : 2 ))
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --locked --release -p trainyard-agent
  [ -n "${TRAINYARD_BIN:-}" ] || cargo build --locked --release -p trainyard-server --bin trainyard
fi
mkdir -p "$target_dir/bench"
exec python3 agent/benches/footprint.py \
  --server "${TRAINYARD_BIN:-$target_dir/release/trainyard}" \
  --agent "$target_dir/release/trainyard-agent" \
  --idle-seconds "$idle" --log-seconds "$log" \
  --json "$target_dir/bench/agent_footprint.json" "$@"
