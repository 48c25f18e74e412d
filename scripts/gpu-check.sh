#!/usr/bin/env bash
# What the real NVML path does on a host with NVIDIA GPUs (not a test: CI
# has no GPU). Run it on a GPU host with the release binaries:
#
#   scripts/gpu-check.sh [BIN_DIR] [OUT_DIR]
#
# BIN_DIR holds `trainyard` and `trainyard-agent` (default target/release);
# OUT_DIR receives what was seen (default ./gpu-check). It starts
# `trainyard serve --server-only` and one `trainyard-agent` reading NVML,
# then records, each in its own file:
#   nvidia-smi.txt    the driver's own view, for comparison
#   host.json         the agent's first heartbeat as the server holds it
#   job-*.json/.log   a `gpus: 1` job (a PyTorch matmul loop when python3 has
#                     torch, else `nvidia-smi -L`): its CUDA_VISIBLE_DEVICES,
#                     and while it runs the agent's and nvidia-smi's readings
#   too-many.json     a job asking for one GPU more than the host has: it
#                     must wait with a reason naming the limit
#   ddp-*.json/.log   with 2+ GPUs and CUDA torch: examples/ddp_step.py under
#                     `launcher: torchrun` on 2 GPUs (ranks agree after the
#                     all-reduce)
#   footprint.txt     agent/benches/footprint.py --real-gpus (short phases)
# Nothing here needs network access beyond 127.0.0.1.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$(cd "${1:-$ROOT/target/release}" && pwd)"
OUT="${2:-$PWD/gpu-check}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
KEY="gpu-check-key-0123456789abcdef"
PORT="${GPU_CHECK_PORT:-37311}"
URL="http://127.0.0.1:$PORT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
api() { curl -sS -H "Authorization: Bearer $KEY" "$@"; }

{ nvidia-smi; nvidia-smi -q | head -40; } > "$OUT/nvidia-smi.txt" 2>&1
GPUS="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')"
log "nvidia-smi lists $GPUS GPU(s): $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"

"$BIN/trainyard" serve --server-only --port "$PORT" --data-dir "$WORK/data" \
  --api-key "$KEY" > "$OUT/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do api "$URL/api/v1/health" > /dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$WORK/agent"
(cd "$WORK/agent" && exec "$BIN/trainyard-agent" --url "$URL" --token "$KEY" \
  --host-id gpu-check --work-dir "$WORK/agent") > "$OUT/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  api "$URL/api/v1/hosts?q=gpu-check" > "$OUT/host.json" 2>/dev/null
  grep -q '"gpu-check"' "$OUT/host.json" && break
  sleep 0.2
done
python3 - "$OUT/host.json" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
page = json.load(open(sys.argv[1]))
for h in page["hosts"]:
    print(f"agent reports {len(h['gpus'])} GPU(s); gpu_error: {h.get('gpu_error')}")
    for g in h["gpus"]:
        print("  " + ", ".join(f"{k}={g.get(k)}" for k in
              ("index", "name", "uuid", "memory_total_bytes", "memory_used_bytes",
               "utilization_percent", "temperature_c", "power_watts", "power_limit_watts")))
EOF

# A one-GPU job. PyTorch when present: a matmul loop that keeps the GPU busy.
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  cat > "$WORK/agent/burn.py" <<'EOF'
import os, time, torch
print("CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), flush=True)
print("device:", torch.cuda.get_device_name(0), flush=True)
a = torch.randn(8192, 8192, device="cuda")
end = time.time() + 10
n = 0
while time.time() < end:
    b = a @ a
    torch.cuda.synchronize()
    n += 1
print(f"{n} matmuls of 8192x8192 in 10 s", flush=True)
EOF
  COMMAND="python3 burn.py"
else
  COMMAND="sh -c 'echo CUDA_VISIBLE_DEVICES=\$CUDA_VISIBLE_DEVICES; nvidia-smi -L; sleep 10'"
  log "python3 has no CUDA torch here; the job runs nvidia-smi instead"
fi
printf 'project: gpu-check\nname: one-gpu\ngpus: 1\ncommand: %s\n' "$COMMAND" > "$WORK/one.yaml"
api -X POST --data-binary @"$WORK/one.yaml" "$URL/api/v1/experiments" > "$OUT/job-submit.json"
JOB="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["id"])' "$OUT/job-submit.json" 2>/dev/null)"
log "job $JOB submitted"
for i in $(seq 1 30); do
  sleep 1
  api "$URL/api/v1/jobs/$JOB" > "$OUT/job-detail.json"
  api "$URL/api/v1/hosts?q=gpu-check" > "$OUT/host-during.json"
  python3 - "$OUT/host-during.json" "$i" <<'EOF' >> "$OUT/job-during.txt"
import json, sys
for h in json.load(open(sys.argv[1]))["hosts"]:
    for g in h["gpus"]:
        procs = [(p.get("pid"), p.get("name"), p.get("memory_bytes", 0) >> 20) for p in g.get("processes") or []]
        print(f"t={sys.argv[2]}s agent: util={g.get('utilization_percent')}% "
              f"mem={g.get('memory_used_bytes', 0) >> 20} MiB power={g.get('power_watts')} W "
              f"temp={g.get('temperature_c')} C processes={procs}")
EOF
  nvidia-smi --query-gpu=utilization.gpu,memory.used,power.draw,temperature.gpu --format=csv,noheader 2>/dev/null \
    | sed "s/^/t=${i}s nvidia-smi: /" >> "$OUT/job-during.txt"
  grep -q '"status":"\(succeeded\|failed\|cancelled\|lost\)"' "$OUT/job-detail.json" && break
done
api "$URL/api/v1/jobs/$JOB/log" > "$OUT/job.log"
log "job $JOB: $(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["status"], [(a.get("gpu_indices"), a.get("exit_code")) for a in d["attempts"]])' "$OUT/job-detail.json" 2>&1)"
sed 's/^/  log: /' "$OUT/job.log" | tee -a "$OUT/summary.txt"

# One GPU more than the host has: waits, with a reason.
printf 'project: gpu-check\nname: too-many\ngpus: %d\ncommand: "true"\n' "$((GPUS + 1))" > "$WORK/many.yaml"
api -X POST --data-binary @"$WORK/many.yaml" "$URL/api/v1/experiments" > "$WORK/many.json"
MANY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["id"])' "$WORK/many.json" 2>/dev/null)"
sleep 3
api "$URL/api/v1/jobs?status=queued" > "$OUT/too-many.json"
log "job $MANY ($((GPUS + 1)) GPUs) waits: $(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print([(j["id"], j.get("waiting")) for j in (d if isinstance(d, list) else d["jobs"])])' "$OUT/too-many.json" 2>&1)"

# Two GPUs or more: a DDP step under `launcher: torchrun` (one worker per GPU).
if [ "$GPUS" -ge 2 ] && python3 -c 'import torch; assert torch.cuda.device_count() >= 2' 2>/dev/null; then
  printf 'project: gpu-check\nname: ddp\ngpus: 2\nlauncher: torchrun\ncommand: [python3, %s]\n' \
    "$ROOT/examples/ddp_step.py" > "$WORK/ddp.yaml"
  api -X POST --data-binary @"$WORK/ddp.yaml" "$URL/api/v1/experiments" > "$WORK/ddp.json"
  DDP="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["id"])' "$WORK/ddp.json" 2>/dev/null)"
  for i in $(seq 1 120); do
    sleep 1
    api "$URL/api/v1/jobs/$DDP" > "$OUT/ddp-detail.json"
    grep -q '"status":"\(succeeded\|failed\|cancelled\|lost\)"' "$OUT/ddp-detail.json" && break
  done
  api "$URL/api/v1/jobs/$DDP/log" > "$OUT/ddp.log"
  log "torchrun job $DDP: $(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["status"], d["command"][:4], [(a.get("gpu_indices"), a.get("exit_code")) for a in d["attempts"]])' "$OUT/ddp-detail.json" 2>&1)"
  grep -E '^(rank|DDP step)' "$OUT/ddp.log" | sed 's/^/  ddp: /' | tee -a "$OUT/summary.txt"
else
  log "torchrun DDP step skipped: it needs 2+ GPUs and python3 with CUDA torch (this host: $GPUS GPU(s))"
fi
cleanup
PIDS=()

if [ "${GPU_CHECK_FOOTPRINT_SECONDS:-60}" -gt 0 ]; then
  log "agent footprint with the real NVML reader"
  python3 "$ROOT/agent/benches/footprint.py" --server "$BIN/trainyard" --agent "$BIN/trainyard-agent" \
    --real-gpus --idle-seconds "${GPU_CHECK_FOOTPRINT_SECONDS:-60}" --log-seconds 30 \
    > "$OUT/footprint.txt" 2>&1
  tail -20 "$OUT/footprint.txt" | tee -a "$OUT/summary.txt"
fi
rm -rf "$WORK"
