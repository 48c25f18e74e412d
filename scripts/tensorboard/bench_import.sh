#!/usr/bin/env bash
# TensorBoard import benchmark (docs/benchmarks.md): writes a log dir with one
# 1,000,000-scalar event file (tensorboardX), then in the same run times
#   - TensorBoard's own EventFileLoader reading every event of it, and
#   - Trainyard importing it (cargo bench --bench tensorboard: read, CRC,
#     decode, record every point into an on-disk data dir),
# and prints points/s for both and the ratio.
#
#   scripts/tensorboard/bench_import.sh [VENV]   (default VENV: /tmp/venv-tb)
# The venv is created with scripts/tensorboard/requirements.txt if missing.
# TRAINYARD_TB_BENCH_POINTS (1000000), TRAINYARD_TB_BENCH_TB_REPEATS (2) and,
# for the cargo bench, TRAINYARD_TB_BENCH_REPEATS (3) change the sizes.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-/tmp/venv-tb}"
points="${TRAINYARD_TB_BENCH_POINTS:-1000000}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$repo/scripts/tensorboard/requirements.txt"
fi
# TRAINYARD_TB_BENCH_LOGDIR: keep the generated log dir there (and reuse it).
if [ -n "${TRAINYARD_TB_BENCH_LOGDIR:-}" ]; then
    logdir="$TRAINYARD_TB_BENCH_LOGDIR"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    logdir="$work/bench"
fi
mkdir -p "$logdir"

ls "$logdir"/*tfevents* >/dev/null 2>&1 || "$venv/bin/python" - "$logdir" "$points" <<'PY'
import os, sys, time
from tensorboardX import SummaryWriter
logdir, points = sys.argv[1], int(sys.argv[2])
tags = ["train/loss", "train/acc", "val/loss", "val/accuracy"]
w = SummaryWriter(logdir=logdir, flush_secs=3600, max_queue=10000)
t0 = 1_700_000_000.0
for step in range(points // len(tags)):
    for i, tag in enumerate(tags):
        w.add_scalar(tag, 1.0 / (step + 1 + i), step, walltime=t0 + step)
w.close()
(f,) = [f for f in os.listdir(logdir) if "tfevents" in f]
print(f"wrote {points} scalars: {os.path.getsize(os.path.join(logdir, f))} bytes", file=sys.stderr)
PY

tb_rate="$("$venv/bin/python" - "$logdir" "${TRAINYARD_TB_BENCH_TB_REPEATS:-2}" <<'PY'
import glob, sys, time, warnings
warnings.filterwarnings("ignore")
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
(path,) = glob.glob(sys.argv[1] + "/*tfevents*")
best, n = float("inf"), 0
repeats = int(sys.argv[2])
for _ in range(repeats):
    start = time.perf_counter()
    n = 0
    for event in EventFileLoader(path).Load():
        for value in event.summary.value:
            n += 1
    best = min(best, time.perf_counter() - start)
print(f"TensorBoard EventFileLoader: {n} values in {best:.3f} s (best of {repeats}): {n / best:.0f} points/s", file=sys.stderr)
print(f"{n / best:.0f}")
PY
)"

cd "$repo"
out="$(TRAINYARD_TB_BENCH_DIR="$logdir" cargo bench -q -p trainyard-engine --bench tensorboard -- --bench)"
echo "$out"
ours="$(echo "$out" | sed -n 's/.*: \([0-9]*\) points\/s$/\1/p')"
python3 -c "print(f'Trainyard import / EventFileLoader: {$ours / $tb_rate:.1f}x')"
