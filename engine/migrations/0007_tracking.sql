-- Experiment tracking through the MLflow REST API (docs/tracking.md).
-- An MLflow experiment is a Trainyard project; an MLflow run is a job (its
-- id is the run id). Runs a client creates are jobs the scheduler never
-- sees (`tracked_runs`); jobs the queue runs log into themselves.

-- Numeric ids for projects as MLflow experiments. Id 0 is MLflow's
-- "Default" experiment, the project `default`.
CREATE TABLE tracking_experiments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project         TEXT    NOT NULL UNIQUE,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
);
INSERT INTO tracking_experiments (id, project, created_ms, updated_ms) VALUES (0, 'default', 0, 0);

CREATE TABLE tracking_experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES tracking_experiments(id),
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

-- Runs created by an MLflow client (not by the queue).
CREATE TABLE tracked_runs (
    job_id  INTEGER PRIMARY KEY REFERENCES jobs(id),
    user_id TEXT    NOT NULL DEFAULT ''
);

-- MLflow tags of any run (`mlflow.runName`, `mlflow.user`, a user's own).
-- Kept apart from the Projects page's tags (run_notes), which are labels.
CREATE TABLE tracking_tags (
    job_id INTEGER NOT NULL,
    key    TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    PRIMARY KEY (job_id, key)
);
