-- The model registry's FTP mirror (issue 14): every commit and LATEST move
-- queues a task in the same transaction, so a crash never loses one. A
-- task uploads a version's files (when `version` is set), then the stage's
-- index.json, LATEST.json and LATEST. A stage's tasks run in id order; a
-- failure keeps the task (and its stage's later ones) waiting for its next
-- attempt.
CREATE TABLE model_mirror (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    model           TEXT    NOT NULL REFERENCES models(name),
    stage           TEXT    NOT NULL,
    -- NULL: only the stage's index and LATEST (a LATEST move).
    version         TEXT,
    -- The target it was queued for, ftp://user@host:port/root (never a
    -- password), so a new target mirrors the versions the old one had.
    target          TEXT    NOT NULL,
    -- pending, done or failed.
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL
);

CREATE INDEX model_mirror_open ON model_mirror (status, id);
CREATE INDEX model_mirror_model ON model_mirror (model, id);
