-- Metric series: one catalog row per (job, key). The points themselves live
-- in append-only files `<data dir>/metrics/<job_id>/<id>.bin`, named by `id`
-- (never by key); `count` says how many records of that file are committed.
CREATE TABLE metric_series (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    key         TEXT    NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    last        REAL    NOT NULL DEFAULT 0,
    min         REAL    NOT NULL DEFAULT 0,
    max         REAL    NOT NULL DEFAULT 0,
    last_step   REAL    NOT NULL DEFAULT 0,
    min_step    REAL    NOT NULL DEFAULT 0,
    max_step    REAL    NOT NULL DEFAULT 0,
    -- 1 while every step so far was >= the one before: queries binary-search.
    monotonic   INTEGER NOT NULL DEFAULT 1,
    updated_ms  INTEGER NOT NULL,
    UNIQUE (job_id, key)
);
