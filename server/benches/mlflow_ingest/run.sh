#!/usr/bin/env bash
# The MLflow path against a real MLflow server (docs/benchmarks.md, "MLflow
# ingest"): the same client script (client.py, the real `mlflow` 3.17.2
# client) logs into `mlflow server` (SQLite backend, the documented local
# setup) and into Trainyard (release build), alternating, ROUNDS times.
#   server/benches/mlflow_ingest/run.sh [rounds] [batches] [calls]
# Then the same loads without the client (wire.py), against both servers.
# Installs the full `mlflow` package (server included, ~850 MB) into
# .venv-bench, pinned by requirements.txt here; the tests never need it.
set -euo pipefail
cd "$(dirname "$0")/../../.."
source scripts/env.sh
rounds="${1:-3}" batches="${2:-100}" calls="${3:-1000}"
here=server/benches/mlflow_ingest
venv=.venv-bench
if ! cmp -s "$here/requirements.txt" "$venv/.requirements" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.requirements"
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --locked --release -p trainyard-server --bin trainyard
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { local url="$1"; shift; for _ in $(seq 1 240); do curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0; sleep 0.5; done; echo "$url never answered" >&2; exit 1; }

mport="$(free_port)"
"$venv/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" \
  --artifacts-destination "$work/mlflow-artifacts" --host 127.0.0.1 --port "$mport" --workers 1 \
  >"$work/mlflow.log" 2>&1 &
pids+=($!)
tport="$(free_port)"
"$target_dir/release/trainyard" serve --server-only --port "$tport" --data-dir "$work/trainyard" \
  --api-key bench-key-0123456789abcdef >"$work/trainyard.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$mport/health"
wait_up "http://127.0.0.1:$tport/api/v1/health" -H "Authorization: Bearer bench-key-0123456789abcdef"

echo "server,round,points,batch_points_per_s,calls,calls_per_s,call_p50_ms,call_p99_ms"
# `ceiling`: the same client with its HTTP layer answering instantly (run
# against Trainyard only to create the experiment and runs): the client's own
# cost, the fastest any server can look through it.
# `wire-mlflow` / `wire-trainyard`: the same bodies posted by wire.py over one
# keep-alive connection, no mlflow client: the servers' own cost per request.
for round in $(seq 1 "$rounds"); do
  for server in mlflow trainyard ceiling wire-mlflow wire-trainyard; do
    mode=real script=client.py
    case "$server" in
      *mlflow) uri="http://127.0.0.1:$mport" token=- ;;
      *) uri="http://127.0.0.1:$tport" token=bench-key-0123456789abcdef ;;
    esac
    [ "$server" = ceiling ] && mode=ceiling
    case "$server" in wire-*) script=wire.py ;; esac
    "$venv/bin/python" "$here/$script" "$uri" "$token" "$batches" "$calls" "$mode" \
      | "$venv/bin/python" -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(",".join(str(x) for x in [sys.argv[1], sys.argv[2], d["points"], round(d["batch_points_per_s"]), d["calls"], round(d["calls_per_s"],1), round(d["call_p50_ms"],2), round(d["call_p99_ms"],2)]))' "$server" "$round"
  done
done
