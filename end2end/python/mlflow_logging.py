"""An MLflow-instrumented training script for the tracking e2e test:
  python mlflow_logging.py <tracking uri> <key, or - for none> <work dir>
Logs 100 steps, prints the run id, waits for <work dir>/go (the browser has
seen the first curve), logs 100 more steps and two artifacts, and ends."""

import os
import sys
import time

uri, key, work = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["MLFLOW_TRACKING_URI"] = uri
if key != "-":
    os.environ["MLFLOW_TRACKING_TOKEN"] = key
import mlflow  # noqa: E402

mlflow.set_experiment("mlflow-e2e")
with mlflow.start_run(run_name="logged-with-mlflow") as run:
    mlflow.log_params({"lr": "0.003", "model": "resnet18"})
    for step in range(100):
        mlflow.log_metrics({"loss": 2.0 / (step + 1), "val_acc": step / 200}, step=step)
    print(run.info.run_id, flush=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(work, "go")):
        if time.time() > deadline:
            sys.exit("nobody said go")
        time.sleep(0.1)
    for step in range(100, 200):
        mlflow.log_metrics({"loss": 2.0 / (step + 1), "val_acc": step / 200}, step=step)
    mlflow.log_text("accuracy 0.995 on the held-out set\n", "report.txt")
    mlflow.log_dict({"layers": [64, 128, 256]}, "config/model.json")
