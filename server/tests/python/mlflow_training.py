"""A training script instrumented with the real MLflow client, run by
server/tests/it/mlflow_client.rs against a real Trainyard server:
  python mlflow_training.py <tracking uri> <token> <scratch dir>
It checks what the client reads back itself and prints one JSON line with
the ids the Rust side checks through Trainyard's own API."""

import json
import math
import os
import sys
import time

uri, token, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["MLFLOW_TRACKING_URI"] = uri
os.environ["MLFLOW_TRACKING_TOKEN"] = token
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

client = MlflowClient()
out = {}


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except MlflowException as e:
        assert e.error_code == code, f"{fn.__name__}: expected {code}, got {e.error_code}: {e}"
        return str(e)
    raise AssertionError(f"{fn.__name__} should have failed with {code}")


assert mlflow.get_experiment_by_name("no-such-experiment") is None
experiment = mlflow.set_experiment("mlflow-demo")
out["experiment_id"] = experiment.experiment_id
assert mlflow.set_experiment("mlflow-demo").experiment_id == experiment.experiment_id
expect_error("RESOURCE_ALREADY_EXISTS", client.create_experiment, "mlflow-demo")

with mlflow.start_run(run_name="resnet-lr0.01") as run:
    run_id = run.info.run_id
    out["run_id"] = run_id
    mlflow.log_param("lr", "0.01")
    mlflow.log_params({"batch_size": 64, "optimizer": "adam", "epochs": 10})
    mlflow.set_tags({"stage": "dev", "team": "vision"})
    # 1,000 steps: most through log_metrics (log-batch), some one by one.
    for step in range(1000):
        loss = 1.0 / (step + 1)
        acc = 0.5 + 0.45 * step / 999
        if step % 100 == 0:
            mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("val_acc", acc, step=step)
        else:
            mlflow.log_metrics({"loss": loss, "val_acc": acc}, step=step)
    # A whole batch at once, as client.log_batch sends it.
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("lr_schedule", 0.01 * (0.9 ** i), now, i) for i in range(50)],
        params=[Param("scheduler", "exp")],
        tags=[RunTag("batch", "yes")],
    )
    # Asynchronous logging ends up in the same run.
    for i in range(5):
        mlflow.log_metric("async_metric", float(i), step=i, synchronous=False)
    mlflow.flush_async_logging()
    # Non-finite values, as MLflow stores them.
    mlflow.log_metric("weird", float("nan"), step=0)
    mlflow.log_metric("weird", float("inf"), step=1)
    mlflow.log_metric("weird", 2.0, step=2)
    # Artifacts through the proxy.
    notes = os.path.join(scratch, "notes.txt")
    with open(notes, "w") as f:
        f.write("trained on cifar10\n")
    mlflow.log_artifact(notes)
    mlflow.log_artifact(notes, artifact_path="extra")
    mlflow.log_text("hello from log_text", "texts/hello.txt")
    mlflow.log_dict({"lr": 0.01, "layers": [64, 128]}, "config/model.json")
    tree = os.path.join(scratch, "tree")
    os.makedirs(os.path.join(tree, "sub"), exist_ok=True)
    with open(os.path.join(tree, "a.bin"), "wb") as f:
        f.write(bytes(range(256)) * 40)
    with open(os.path.join(tree, "sub", "b.txt"), "w") as f:
        f.write("b")
    mlflow.log_artifacts(tree, artifact_path="tree")

    # Bad input the client lets through gets MLflow's errors.
    expect_error("INVALID_PARAMETER_VALUE", mlflow.log_param, "lr", "0.02")
    mlflow.log_param("lr", "0.01")  # the same value again is fine
    # The client splits oversized batches to fit the server's limits (the
    # limits themselves are tested over raw HTTP): 1,001 points all arrive.
    client.log_batch(run_id, metrics=[Metric("chunked", float(i), now, i) for i in range(1001)])
    long_value = "x" * 7000
    mlflow.log_param("long", long_value)  # truncated to 6000, as MLflow does

# end_run finished it.
got = client.get_run(run_id)
assert got.info.status == "FINISHED", got.info.status
assert got.info.run_name == "resnet-lr0.01"
assert got.data.params["lr"] == "0.01"
assert got.data.params["batch_size"] == "64"
assert got.data.params["scheduler"] == "exp"
assert len(got.data.params["long"]) == 6000
assert got.data.tags["stage"] == "dev"
assert got.data.tags["batch"] == "yes"
assert abs(got.data.metrics["loss"] - 1.0 / 1000) < 1e-12
assert abs(got.data.metrics["val_acc"] - 0.95) < 1e-9
assert got.data.metrics["weird"] == 2.0

history = client.get_metric_history(run_id, "loss")
assert len(history) == 1000, len(history)
assert sorted(m.step for m in history) == list(range(1000))
weird = client.get_metric_history(run_id, "weird")
assert math.isnan(weird[0].value), weird[0]
assert weird[1].value == 1.7976931348623157e308, weird[1]
async_points = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "async_metric"))
assert async_points == [(i, float(i)) for i in range(5)], async_points
assert len(client.get_metric_history(run_id, "chunked")) == 1001

names = sorted(a.path for a in client.list_artifacts(run_id))
assert names == ["config", "extra", "notes.txt", "texts", "tree"], names
sub = sorted((a.path, a.is_dir) for a in client.list_artifacts(run_id, "tree"))
assert sub == [("tree/a.bin", False), ("tree/sub", True)], sub
local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=os.path.join(scratch, "dl"))
with open(os.path.join(local, "a.bin"), "rb") as f:
    assert f.read() == bytes(range(256)) * 40
assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/hello.txt") == "hello from log_text"
assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/model.json") == {"lr": 0.01, "layers": [64, 128]}

# A second run that fails, and a third still running.
try:
    with mlflow.start_run(run_name="diverged"):
        mlflow.log_param("lr", "1.0")
        mlflow.log_metric("val_acc", 0.1, step=0)
        raise RuntimeError("loss is nan")
except RuntimeError:
    pass
third = client.create_run(experiment.experiment_id, run_name="still-going", tags={"stage": "prod"})
client.log_param(third.info.run_id, "lr", "0.001")
client.log_metric(third.info.run_id, "val_acc", 0.97, step=3)
out["running_id"] = third.info.run_id

runs = client.search_runs([experiment.experiment_id], "metrics.val_acc > 0.9 and params.lr = '0.01'")
assert [r.info.run_id for r in runs] == [run_id], [r.info.run_name for r in runs]
runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FAILED'")
assert [r.info.run_name for r in runs] == ["diverged"]
runs = client.search_runs([experiment.experiment_id], "tags.stage = 'prod'")
assert [r.info.run_name for r in runs] == ["still-going"]
runs = client.search_runs([experiment.experiment_id], "", order_by=["metrics.val_acc DESC"])
assert [r.info.run_name for r in runs] == ["still-going", "resnet-lr0.01", "diverged"], [r.info.run_name for r in runs]
runs = client.search_runs([experiment.experiment_id], "attributes.run_name LIKE 'res%'")
assert [r.info.run_name for r in runs] == ["resnet-lr0.01"]
page = client.search_runs([experiment.experiment_id], "", max_results=2)
assert len(page) == 2 and page.token, page.token
rest = client.search_runs([experiment.experiment_id], "", max_results=2, page_token=page.token)
assert len(rest) == 1 and not rest.token
# delete_run archives (hidden, kept), restore_run brings it back.
failed_id = client.search_runs([experiment.experiment_id], "attributes.status = 'FAILED'")[0].info.run_id
client.delete_run(failed_id)
assert client.get_run(failed_id).info.lifecycle_stage == "deleted"
assert len(client.search_runs([experiment.experiment_id], "")) == 2
from mlflow.entities import ViewType  # noqa: E402
assert [r.info.run_id for r in client.search_runs([experiment.experiment_id], "", run_view_type=ViewType.DELETED_ONLY)] == [failed_id]
expect_error("INVALID_PARAMETER_VALUE", client.log_metric, failed_id, "late", 1.0)
client.restore_run(failed_id)
assert client.get_run(failed_id).info.lifecycle_stage == "active"
assert len(client.search_runs([experiment.experiment_id], "")) == 3
out["failed_id"] = failed_id
expect_error("INVALID_PARAMETER_VALUE", client.search_runs, [experiment.experiment_id], "metrics.val_acc >")
expect_error("INVALID_PARAMETER_VALUE", client.search_runs, [experiment.experiment_id], "colour.x = 'red'")

names = [e.name for e in client.search_experiments()]
assert "mlflow-demo" in names and "Default" in names, names

# Unknown ids and bad paths.
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_run, "987654")
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_experiment, "987654")
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_run, "not-a-trainyard-id")

print(json.dumps(out))
