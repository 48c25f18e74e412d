-- The model registry (issue 14). A model has two stages (dev, release);
-- each stage holds versions, numbered v0001… or named explicitly, never
-- deleted (so a name is never reused), and a LATEST pointer. A version's
-- files, manifest and bundle live in <data dir>/models/<model>/<stage>/<version>/;
-- the row is written only once they are complete (staged in
-- <data dir>/models/.staging/<staged_as>, renamed after the commit).
CREATE TABLE models (
    name        TEXT    PRIMARY KEY,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE model_versions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    model         TEXT    NOT NULL REFERENCES models(name),
    stage         TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    registered_by TEXT    NOT NULL,
    notes         TEXT    NOT NULL DEFAULT '',
    -- The manifest's `source` as JSON (run, upload, promotion).
    source        TEXT    NOT NULL,
    -- The source run, when there is one (promotions carry their origin's).
    job_id        INTEGER,
    files         INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    bundle_bytes  INTEGER NOT NULL,
    bundle_xxh3   TEXT    NOT NULL,
    -- manifest.json as written.
    manifest      TEXT    NOT NULL,
    -- The staging directory's name, so a restart can finish the rename.
    staged_as     TEXT    NOT NULL,
    UNIQUE (model, stage, version)
);

CREATE TABLE model_latest (
    model       TEXT    NOT NULL REFERENCES models(name),
    stage       TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (model, stage)
);
