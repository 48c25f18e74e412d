-- The launcher's catalog: every saved (valid) version of the YAML. Nothing
-- is deleted; a restore saves an old content as a new revision.
CREATE TABLE catalog_revisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    content    TEXT    NOT NULL,
    source     TEXT    NOT NULL, -- `api`, `file <path>`, `restore <id>`
    saved_by   TEXT    NOT NULL, -- `api key`, `ui`, `local`
    created_ms INTEGER NOT NULL
);

-- Which catalog task and revision launched a job, with the job's own field
-- values (JSON object), so the UI can show it and "Launch again" refill
-- the form. Keyed by job id without a foreign key, like run_notes, so
-- purging runs is not blocked (the purge deletes these rows too).
CREATE TABLE job_launches (
    job_id      INTEGER PRIMARY KEY,
    task_type   TEXT    NOT NULL,
    revision_id INTEGER NOT NULL REFERENCES catalog_revisions(id),
    field_values TEXT   NOT NULL
);
CREATE INDEX job_launches_by_task ON job_launches(task_type);
