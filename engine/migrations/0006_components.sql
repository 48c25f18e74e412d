-- The components store: the lab's code, content-addressed and append-only.
-- Nothing here is ever deleted or overwritten.

-- One row per distinct content (xxh3-64 of its UTF-8 bytes, 16 hex digits).
CREATE TABLE component_blobs (
    hash       TEXT    PRIMARY KEY,
    content    TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);

-- A version: one content under one store path (`model/resnet.py`). The same
-- content under two paths is two versions of one blob.
CREATE TABLE component_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    path       TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL REFERENCES component_blobs(hash),
    created_ms INTEGER NOT NULL,
    added_by   TEXT    NOT NULL,
    -- Stored only because a worker ran it (a local change nobody chose to
    -- upload): kept so the run can be restored, but not "known" to the
    -- sync's decision, which would otherwise overwrite that worker's edit
    -- as an old version. Cleared when the version is activated.
    ran_only   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (path, hash)
);
CREATE INDEX component_versions_by_hash ON component_versions(hash);

-- Exactly one active version per path that has versions: the primary key
-- makes two concurrent activations leave one row.
CREATE TABLE component_active (
    path         TEXT    PRIMARY KEY,
    hash         TEXT    NOT NULL,
    activated_ms INTEGER NOT NULL
);

-- Who uploaded, activated or scanned what, when and from where.
CREATE TABLE component_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms  INTEGER NOT NULL,
    action TEXT    NOT NULL, -- upload | activate | scan | agent_upload
    path   TEXT    NOT NULL,
    hash   TEXT    NOT NULL,
    who    TEXT    NOT NULL,
    origin TEXT    NOT NULL
);

-- What each attempt ran with: components and `code:` files, stored before
-- its process starts.
CREATE TABLE job_manifests (
    job_id     INTEGER NOT NULL,
    attempt    INTEGER NOT NULL,
    path       TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    code       INTEGER NOT NULL DEFAULT 0,
    was_active INTEGER NOT NULL DEFAULT 0,
    -- The plan made the worker's copy the active version: it is activated
    -- when it arrives.
    activate   INTEGER NOT NULL DEFAULT 0,
    strategy   TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, attempt, path)
);
CREATE INDEX job_manifests_by_hash ON job_manifests(hash);

-- Manifests CVLab-Kit's client saves under its own experiment ids
-- (`POST /api/components/manifest/{uid}`) when they name no job.
CREATE TABLE experiment_manifests (
    uid        TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (uid, path)
);

-- `local_newer` conflicts a person answers in the browser; the host
-- carries the choice out at its next sync.
CREATE TABLE component_notices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id      TEXT    NOT NULL,
    job_id       INTEGER,
    path         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    local_hash   TEXT    NOT NULL,
    server_hash  TEXT,
    created_ms   INTEGER NOT NULL,
    choice       TEXT,
    answered_by  TEXT,
    answered_ms  INTEGER,
    applied_ms   INTEGER,
    UNIQUE (host_id, path, local_hash)
);

-- A re-run that must run another job's exact code.
ALTER TABLE jobs ADD COLUMN code_from INTEGER;
