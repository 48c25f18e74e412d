"""Drives one MLflow tracking server with the real client and prints one
JSON line: `log_batch` ingest (points/s) and per-call `log_metric`
(calls/s and latency). Run by server/benches/mlflow_ingest/run.sh against a
real `mlflow server` and against Trainyard, same client, same run.
  python client.py <tracking uri> <token or -> <batches> <calls> [ceiling]
With `ceiling`, the timed loops run with the client's HTTP layer replaced by
an instant 200 `{}`: what the client itself costs, the most any server can
be measured at through it."""

import json
import os
import statistics
import sys
import time

uri, token, batches, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ceiling = len(sys.argv) > 5 and sys.argv[5] == "ceiling"
os.environ["MLFLOW_TRACKING_URI"] = uri
if token != "-":
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"

import mlflow.utils.rest_utils as rest_utils  # noqa: E402
import requests  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

client = MlflowClient()
name = f"bench-{int(time.time() * 1000)}"
experiment = client.create_experiment(name)

# log_batch: `batches` requests of 1,000 points (the client's largest),
# 4 keys x 250 steps each, steps advancing batch to batch.
run = client.create_run(experiment, run_name="batch").info.run_id
now = int(time.time() * 1000)
keys = ["loss", "val_loss", "acc", "val_acc"]
payloads = []
for b in range(batches):
    base = b * 250
    payloads.append([Metric(k, 1.0 / (base + s + 1), now + base + s, base + s) for s in range(250) for k in keys])
real_send = rest_utils._get_http_response_with_retries


def instant(*args, **kwargs):
    response = requests.Response()
    response.status_code = 200
    response._content = b"{}"
    return response


if ceiling:
    rest_utils._get_http_response_with_retries = instant
start = time.perf_counter()
for metrics in payloads:
    client.log_batch(run, metrics=metrics)
batch_s = time.perf_counter() - start
points = batches * 1000
rest_utils._get_http_response_with_retries = real_send

# log_metric: `calls` single points, one request each.
run2 = client.create_run(experiment, run_name="single").info.run_id
latencies = []
if ceiling:
    rest_utils._get_http_response_with_retries = instant
start = time.perf_counter()
for i in range(calls):
    t0 = time.perf_counter()
    client.log_metric(run2, "loss", 1.0 / (i + 1), timestamp=now + i, step=i)
    latencies.append(time.perf_counter() - t0)
call_s = time.perf_counter() - start
rest_utils._get_http_response_with_retries = real_send

# Everything arrived.
if not ceiling:
    assert len(client.get_metric_history(run2, "loss")) == calls
    got = client.get_metric_history(run, "val_acc")
    assert len(got) == batches * 250, len(got)
latencies.sort()
print(json.dumps({
    "points": points,
    "batch_seconds": batch_s,
    "batch_points_per_s": points / batch_s,
    "calls": calls,
    "call_seconds": call_s,
    "calls_per_s": calls / call_s,
    "call_p50_ms": 1000 * statistics.median(latencies),
    "call_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
}))
