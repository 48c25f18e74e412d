#!/usr/bin/env python3
"""A small model server for Trainyard's serving, Python standard library only.

Serve a registered version with it (docs/models.md, "Serving"):

    trainyard model serve demo --stage release \
        --command "python3 examples/model_server.py --model-dir {model_dir} --port {port}"

The "model" is `model.json` in the version's payload, else
`best_checkpoint.pt` (what examples/train.py writes, so a published run of
it serves as is): a linear model `{"weights": [w1, w2, ...], "bias": b}`. Routes:

    GET  /health       200 {"status": "ok"} once the model is loaded
    POST /predict      {"inputs": [[x1, x2, ...], ...]} -> {"predictions": [...]}
    POST /invocations  the same (MLflow's scoring route name)
    GET  /             what is loaded

`{model_dir}` is the unpacked payload on the agent's host and `{port}` a
free port the agent picked; Trainyard's server proxies
`/serve/<model>/<stage>/...` to it.
"""

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(model_dir):
    for file in ("model.json", "best_checkpoint.pt"):
        path = os.path.join(model_dir, file)
        if os.path.exists(path):
            break
    else:
        raise ValueError(f"{model_dir}: neither model.json nor best_checkpoint.pt is there")
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    weights = model.get("weights")
    if not isinstance(weights, list) or not all(isinstance(w, (int, float)) for w in weights):
        raise ValueError(f"{path}: 'weights' must be a list of numbers")
    bias = model.get("bias", 0.0)
    if not isinstance(bias, (int, float)):
        raise ValueError(f"{path}: 'bias' must be a number")
    return {"weights": weights, "bias": bias, "name": model.get("name", "linear")}


def handler_for(model):
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/health":
                self.answer(200, {"status": "ok"})
            elif path == "/":
                self.answer(200, {"model": model["name"], "inputs": len(model["weights"])})
            else:
                self.answer(404, {"error": f"no route {path}"})

        def do_POST(self):
            path = self.path.split("?", 1)[0]
            if path not in ("/predict", "/invocations"):
                self.answer(404, {"error": f"no route {path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                rows = body["inputs"]
                width = len(model["weights"])
                if not isinstance(rows, list) or any(
                    not isinstance(r, list) or len(r) != width for r in rows
                ):
                    raise ValueError(f"inputs must be a list of rows of {width} numbers")
                predictions = [
                    sum(w * float(x) for w, x in zip(model["weights"], row)) + model["bias"]
                    for row in rows
                ]
            except (ValueError, KeyError, TypeError) as e:
                self.answer(400, {"error": str(e)})
                return
            self.answer(200, {"predictions": predictions, "model": model["name"]})

        def log_message(self, fmt, *args):
            sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
            sys.stdout.flush()

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model-dir", required=True, help="the unpacked payload ({model_dir})")
    parser.add_argument("--port", type=int, required=True, help="the port to listen on ({port})")
    parser.add_argument("--host", default="0.0.0.0", help="the address to bind (default 0.0.0.0)")
    args = parser.parse_args()
    try:
        model = load(args.model_dir)
    except (OSError, ValueError) as e:
        print(f"cannot load the model: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    server = ThreadingHTTPServer((args.host, args.port), handler_for(model))
    print(f"serving {model['name']} on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
