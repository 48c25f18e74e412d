-- Serving model versions (issue 14, "Serve it"). A deployment is one row
-- here plus an ordinary job that runs the server process (placement,
-- leases, logs, cancel and lost-agent retries are the scheduler's). The
-- row says what it serves and, once the job's current attempt answered
-- its health path, where: the proxy at /serve/<model>/<stage>/… forwards
-- to endpoint_address:endpoint_port only while endpoint_attempt is the
-- job's current attempt.
CREATE TABLE model_serving (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    model            TEXT    NOT NULL REFERENCES models(name),
    stage            TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    command          TEXT    NOT NULL, -- the template as given
    health_path      TEXT    NOT NULL,
    gpus             INTEGER NOT NULL,
    host_pin         TEXT,
    job_id           INTEGER NOT NULL REFERENCES jobs(id),
    created_ms       INTEGER NOT NULL,
    endpoint_attempt INTEGER,
    endpoint_address TEXT,
    endpoint_port    INTEGER,
    healthy_ms       INTEGER,
    stopped_ms       INTEGER
);
-- At most one live deployment per stage.
CREATE UNIQUE INDEX model_serving_live ON model_serving(model, stage) WHERE stopped_ms IS NULL;
CREATE INDEX model_serving_by_job ON model_serving(job_id);
