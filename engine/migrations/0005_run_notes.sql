-- Notes and tags people write on runs (the Projects page). Keyed by job id
-- without a foreign key, so they survive a re-index of imported runs that
-- deletes and re-creates job rows.
CREATE TABLE run_notes (
    job_id     INTEGER PRIMARY KEY,
    notes      TEXT    NOT NULL DEFAULT '',
    tags       TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    updated_ms INTEGER NOT NULL
);

-- The Projects page lists and pages runs by project.
CREATE INDEX jobs_by_project ON jobs(project, id);
