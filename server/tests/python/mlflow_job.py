"""A job script that logs with MLflow and knows nothing of Trainyard: the
agent's MLFLOW_* variables send it into the job's own run."""

import mlflow

# The Void Train Manager's way of naming a run kept elsewhere.
print('VTM_RUN_META::{"mlflow_run_id": "external-0042"}', flush=True)

with mlflow.start_run() as run:
    mlflow.log_param("seed", "7")
    for step in range(20):
        mlflow.log_metric("mlflow_loss", 1.0 / (step + 1), step=step)
    mlflow.log_text("done", "result.txt")
    print("logged into run", run.info.run_id, "of experiment", run.info.experiment_id, flush=True)
