-- Experiments: a submission (sweep) of N jobs; each job runs as attempts.
CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project     TEXT    NOT NULL,
    source_yaml TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    job_count   INTEGER NOT NULL
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id          INTEGER NOT NULL REFERENCES sweeps(id),
    project           TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    priority          INTEGER NOT NULL,
    command           TEXT    NOT NULL, -- JSON array (argv)
    workdir           TEXT,
    config_yaml       TEXT    NOT NULL,
    params            TEXT    NOT NULL, -- JSON array of [key, value]
    gpus              INTEGER NOT NULL,
    host_pin          TEXT,
    min_gpu_memory_mb INTEGER,
    retries           INTEGER NOT NULL,
    timeout_secs      INTEGER,
    attempt           INTEGER NOT NULL DEFAULT 0,
    host_id           TEXT,
    gpu_indices       TEXT    NOT NULL DEFAULT '[]', -- JSON array
    created_ms        INTEGER NOT NULL,
    started_ms        INTEGER,
    finished_ms       INTEGER,
    duration_ms       INTEGER,
    exit_code         INTEGER,
    reason            TEXT,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    rerun_of          INTEGER
);
CREATE INDEX jobs_by_status ON jobs(status);
CREATE INDEX jobs_by_sweep ON jobs(sweep_id);

CREATE TABLE attempts (
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    attempt     INTEGER NOT NULL,
    host_id     TEXT    NOT NULL,
    gpu_indices TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    assigned_ms INTEGER NOT NULL,
    started_ms  INTEGER,
    finished_ms INTEGER,
    exit_code   INTEGER,
    reason      TEXT,
    PRIMARY KEY (job_id, attempt)
);
