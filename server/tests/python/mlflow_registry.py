"""The real MLflow client's model registry calls against a real Trainyard
server, run by server/tests/it/mlflow_registry.rs:
  python mlflow_registry.py <tracking uri> <token> <scratch dir>
A run logs a model directory with log_artifacts, register_model makes
versions 1 and 2 of it, an alias and a stage point at them, and
download_artifacts("models:/…") gives back the logged bytes. Bad input must
fail with MLflow's error codes at once (the client's retries stay at their
default: a 5xx would be retried for minutes and end in another code). It
prints one JSON line with what the Rust side checks through Trainyard's API."""

import filecmp
import json
import os
import sys

uri, token, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["MLFLOW_TRACKING_URI"] = uri
os.environ["MLFLOW_TRACKING_TOKEN"] = token

import mlflow  # noqa: E402
from mlflow.exceptions import MlflowException, RestException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

client = MlflowClient()
NAME = "resnet-mlflow"


def expect_error(code, fn, *args, rest=True, **kwargs):
    try:
        fn(*args, **kwargs)
    except MlflowException as e:
        assert e.error_code == code, f"{fn.__name__}: expected {code}, got {e.error_code}: {e}"
        if rest:
            assert isinstance(e, RestException), f"{fn.__name__}: not a RestException: {e!r}"
        return str(e)
    raise AssertionError(f"{fn.__name__} should have failed with {code}")


# A model directory as a framework without an MLflow flavor would write it:
# an MLmodel file (register_model looks for it), weights, a nested file.
model_dir = os.path.join(scratch, "model")
os.makedirs(os.path.join(model_dir, "sub"), exist_ok=True)
with open(os.path.join(model_dir, "MLmodel"), "w") as f:
    f.write("artifact_path: model\nflavors:\n  custom:\n    weights: weights.bin\n")
with open(os.path.join(model_dir, "weights.bin"), "wb") as f:
    f.write(bytes((i * 31 + 7) % 256 for i in range(300_000)))
with open(os.path.join(model_dir, "sub", "labels.txt"), "w") as f:
    f.write("cat\ndog\n")

mlflow.set_experiment("mlflow-registry")
with mlflow.start_run(run_name="registry-run") as run:
    run_id = run.info.run_id
    mlflow.log_param("lr", "0.1")
    mlflow.log_artifacts(model_dir, "model")
    mlflow.log_text("not part of the model", "notes.txt")

# register_model creates the registered model, then version 1; again: 2.
mv1 = mlflow.register_model(f"runs:/{run_id}/model", NAME)
assert mv1.version == "1", mv1
assert mv1.status == "READY", mv1
assert mv1.run_id == run_id, mv1
mv2 = mlflow.register_model(f"runs:/{run_id}/model", NAME)
assert mv2.version == "2", mv2
expect_error("RESOURCE_ALREADY_EXISTS", client.create_registered_model, NAME)

client.set_registered_model_alias(NAME, "champion", "1")
client.set_registered_model_alias(NAME, "challenger", "1")
client.set_registered_model_alias(NAME, "challenger", "2")  # an alias moves


def same_tree(got):
    """The downloaded directory holds exactly the logged files, byte for byte
    (plus the client's own registered_model_meta note)."""
    for rel in ["MLmodel", "weights.bin", os.path.join("sub", "labels.txt")]:
        assert filecmp.cmp(os.path.join(model_dir, rel), os.path.join(got, rel), shallow=False), rel
    names = sorted(
        os.path.relpath(os.path.join(d, f), got) for d, _, fs in os.walk(got) for f in fs
    )
    assert names == ["MLmodel", "registered_model_meta", "sub/labels.txt", "weights.bin"], names


for i, models_uri in enumerate(
    [f"models:/{NAME}/1", f"models:/{NAME}@champion", f"models:/{NAME}/latest", f"models:/{NAME}@challenger"]
):
    dst = os.path.join(scratch, f"download-{i}")
    os.makedirs(dst)
    same_tree(mlflow.artifacts.download_artifacts(models_uri, dst_path=dst))
# One file of a version.
one = mlflow.artifacts.download_artifacts(f"models:/{NAME}/2/sub/labels.txt", dst_path=os.path.join(scratch, "one"))
assert open(one).read() == "cat\ndog\n"

got = client.get_model_version(NAME, "1")
assert got.version == "1" and got.name == NAME, got
assert got.run_id == run_id, got
assert got.current_stage == "None", got
assert got.aliases == ["champion"], got.aliases
assert got.source.endswith(f"/{run_id}/artifacts/model"), got.source
by_alias = client.get_model_version_by_alias(NAME, "challenger")
assert by_alias.version == "2", by_alias

found = client.search_model_versions(f"name='{NAME}'")
assert sorted(v.version for v in found) == ["1", "2"], found
assert [v.version for v in client.search_model_versions(f"run_id='{run_id}'")] == ["2", "1"]
assert client.search_model_versions("name='nothing-here'") == []
latest = client.get_latest_versions(NAME)
assert [v.version for v in latest] == ["2"], latest

# Production: the label, and in Trainyard a promotion to release.
moved = client.transition_model_version_stage(NAME, "1", "production")
assert moved.current_stage == "Production", moved
assert [v.version for v in client.get_latest_versions(NAME, ["Production"])] == ["1"]
dst = os.path.join(scratch, "download-prod")
os.makedirs(dst)
same_tree(mlflow.artifacts.download_artifacts(f"models:/{NAME}/Production", dst_path=dst))

client.update_registered_model(NAME, description="ResNet from the MLflow client")
client.set_registered_model_tag(NAME, "team", "vision")
client.update_model_version(NAME, "2", description="second try")
client.set_model_version_tag(NAME, "2", "validated", "yes")
model = client.get_registered_model(NAME)
assert model.description == "ResNet from the MLflow client", model
assert model.tags == {"team": "vision"}, model.tags
assert model.aliases == {"champion": "1", "challenger": "2"}, model.aliases
assert sorted(v.version for v in model.latest_versions) == ["1", "2"], model.latest_versions
v2 = client.get_model_version(NAME, "2")
assert v2.description == "second try" and v2.tags == {"validated": "yes"}, v2
assert [m.name for m in client.search_registered_models(f"name = '{NAME}'")] == [NAME]
assert [m.name for m in client.search_registered_models("tags.team = 'vision'")] == [NAME]

client.delete_registered_model_alias(NAME, "challenger")
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_model_version_by_alias, NAME, "challenger")

# Bad input: MLflow's codes, answered at once.
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, "no-such-model")
expect_error("RESOURCE_DOES_NOT_EXIST", client.get_model_version, NAME, "99")
expect_error(
    "RESOURCE_DOES_NOT_EXIST",
    mlflow.artifacts.download_artifacts,
    "models:/no-such-model/1",
    dst_path=os.path.join(scratch, "never"),
)
# From a run that does not exist: the client's own run lookup fails.
expect_error("RESOURCE_DOES_NOT_EXIST", mlflow.register_model, "runs:/424242/model", NAME, rest=False)
# Straight to create_model_version: the server refuses the unknown run ...
expect_error("RESOURCE_DOES_NOT_EXIST", client.create_model_version, NAME, "runs:/424242/model")
# ... a run without files at the source's path, naming the path ...
message = expect_error(
    "INVALID_PARAMETER_VALUE", client.create_model_version, NAME, f"runs:/{run_id}/nothere"
)
assert "artifacts/nothere" in message, message
# ... and a source that is not a run's.
expect_error("INVALID_PARAMETER_VALUE", client.create_model_version, NAME, "s3://bucket/model")
expect_error("INVALID_PARAMETER_VALUE", client.create_registered_model, "Not A Slug")
expect_error("INVALID_PARAMETER_VALUE", client.set_registered_model_alias, NAME, "latest", "1", rest=False)
expect_error("RESOURCE_DOES_NOT_EXIST", client.set_registered_model_alias, NAME, "x", "7")
# Nothing above made a version.
assert sorted(v.version for v in client.search_model_versions(f"name='{NAME}'")) == ["1", "2"]

print(json.dumps({"run_id": run_id, "name": NAME}))
