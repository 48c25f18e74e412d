-- Run files (synced from agents or imported) and what indexing them found.

-- How far each CSV run file has been read into metric series. Saved in the
-- same transaction as the series it fed, so a crash never indexes a row twice.
CREATE TABLE csv_cursors (
    job_id  INTEGER NOT NULL REFERENCES jobs(id),
    attempt INTEGER NOT NULL,
    path    TEXT    NOT NULL,
    cursor  TEXT    NOT NULL, -- JSON: offset, lines, rows, header
    PRIMARY KEY (job_id, attempt, path)
);

-- Lines that could not be indexed (a malformed CSV row…), capped per job.
CREATE TABLE run_problems (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES jobs(id),
    source     TEXT    NOT NULL,
    line       INTEGER,
    message    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX run_problems_by_job ON run_problems(job_id, id);

-- Runs indexed from an existing CVLab-Kit style tree
-- (`<root>/<project>/<run>.csv`, `<run>_config.yaml`, `<run>.pt`): each is a
-- job (status inferred), found again by (root, project, run) on re-index.
CREATE TABLE imported_runs (
    job_id    INTEGER PRIMARY KEY REFERENCES jobs(id),
    root      TEXT    NOT NULL,
    project   TEXT    NOT NULL,
    run       TEXT    NOT NULL,
    signature TEXT    NOT NULL DEFAULT '', -- sizes and mtimes last indexed
    UNIQUE (root, project, run)
);
