-- Notifications (issue 15): webhooks called when jobs end, and every
-- delivery with its attempts and last error, so a failed one is visible.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,           -- `json` or `slack`
    project    TEXT,                       -- NULL: every project
    events     TEXT    NOT NULL,           -- comma-separated event names
    source     TEXT    NOT NULL,           -- `api`, or `flag` (reset at every start)
    created_ms INTEGER NOT NULL
);

-- Deleting a webhook deletes its history.
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event       TEXT    NOT NULL,
    job_id      INTEGER,                   -- no foreign key: purging runs keeps the log
    sweep_id    INTEGER,
    status      TEXT    NOT NULL,          -- pending, delivered, failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    last_error  TEXT,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, id);
