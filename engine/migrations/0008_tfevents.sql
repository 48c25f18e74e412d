-- TensorBoard event files (`events.out.tfevents.*`) read into metric series.

-- How far each event file has been read: the byte offset of the next record
-- and what was counted (JSON, see `metrics::tfevents::TfCursor`). Saved in the
-- same transaction as the series it fed, so a crash never records a point
-- twice. For job run files the path is relative to the run dir; for imported
-- runs it is the file's absolute path.
CREATE TABLE tfevents_cursors (
    job_id  INTEGER NOT NULL REFERENCES jobs(id),
    attempt INTEGER NOT NULL,
    path    TEXT    NOT NULL,
    cursor  TEXT    NOT NULL,
    PRIMARY KEY (job_id, attempt, path)
);

-- Imported TensorBoard runs: the directory holding their event files. NULL
-- for CVLab-Kit runs (whose files are `<root>/<project>/<run>.*`). Their
-- `run` key is the directory relative to the project with a trailing `/`,
-- which no CVLab-Kit run name has, so the two kinds never meet.
ALTER TABLE imported_runs ADD COLUMN run_dir TEXT;
