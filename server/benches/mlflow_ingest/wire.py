"""The same two loads as client.py, without the `mlflow` client: the JSON
bodies it sends, posted over one keep-alive `http.client` connection. What
the servers cost per request with the least client in front of them, so the
ratio between them is not capped by the client's own ~0.7 ms per call (the
`ceiling` rows of run.sh). Prints one JSON line, the same keys as client.py.
  python wire.py <tracking uri> <token or -> <batches> <calls>"""

import http.client
import json
import statistics
import sys
import time
import urllib.parse

uri, token, batches, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parsed = urllib.parse.urlparse(uri)
conn = http.client.HTTPConnection(parsed.hostname, parsed.port)
headers = {"Content-Type": "application/json"}
if token != "-":
    headers["Authorization"] = f"Bearer {token}"


def call(method, path, body=None):
    conn.request(method, "/api/2.0/mlflow/" + path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data or b"{}")


def history(run, key):
    points, page = 0, None
    while True:
        query = {"run_id": run, "metric_key": key, "max_results": 25000}
        if page:
            query["page_token"] = page
        got = call("GET", "metrics/get-history?" + urllib.parse.urlencode(query))
        points += len(got.get("metrics", []))
        page = got.get("next_page_token")
        if not page:
            return points


experiment = call("POST", "experiments/create", {"name": f"wire-{int(time.time() * 1000)}"})["experiment_id"]
now = int(time.time() * 1000)

# log-batch: 1,000 points a request, 4 keys x 250 steps, as client.py.
run = call("POST", "runs/create", {"experiment_id": experiment, "start_time": now})["run"]["info"]["run_id"]
keys = ["loss", "val_loss", "acc", "val_acc"]
bodies = []
for b in range(batches):
    base = b * 250
    metrics = [{"key": k, "value": 1.0 / (base + s + 1), "timestamp": now + base + s, "step": base + s}
               for s in range(250) for k in keys]
    bodies.append({"run_id": run, "metrics": metrics, "params": [], "tags": []})
start = time.perf_counter()
for body in bodies:
    call("POST", "runs/log-batch", body)
batch_s = time.perf_counter() - start

# log-metric: one point a request.
run2 = call("POST", "runs/create", {"experiment_id": experiment, "start_time": now})["run"]["info"]["run_id"]
latencies = []
start = time.perf_counter()
for i in range(calls):
    t0 = time.perf_counter()
    call("POST", "runs/log-metric",
         {"run_id": run2, "run_uuid": run2, "key": "loss", "value": 1.0 / (i + 1), "timestamp": now + i, "step": i})
    latencies.append(time.perf_counter() - t0)
call_s = time.perf_counter() - start

assert history(run2, "loss") == calls
assert history(run, "val_acc") == batches * 250
latencies.sort()
print(json.dumps({
    "points": batches * 1000,
    "batch_seconds": batch_s,
    "batch_points_per_s": batches * 1000 / batch_s,
    "calls": calls,
    "call_seconds": call_s,
    "calls_per_s": calls / call_s,
    "call_p50_ms": 1000 * statistics.median(latencies),
    "call_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
}))
