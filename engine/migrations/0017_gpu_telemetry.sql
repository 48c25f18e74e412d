-- GPU telemetry history: one row per host and minute, its GPUs packed in a
-- small blob (7 bytes a GPU: index, mean utilization %, peak temperature °C,
-- peak memory used and memory total in 16 MiB units, little-endian u16s;
-- see engine/src/hosts/telemetry.rs). A row per GPU-minute with columns was
-- measured 3-4x larger (docs/benchmarks.md). Rows older than 7 days are
-- deleted by the flush; a removed host's rows go with it.
-- Never edit a migration that has shipped: add a new one.
CREATE TABLE gpu_telemetry (
    host_id TEXT NOT NULL,
    minute  INTEGER NOT NULL,
    gpus    BLOB NOT NULL,
    PRIMARY KEY (host_id, minute)
) STRICT, WITHOUT ROWID;
