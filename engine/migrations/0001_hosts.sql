-- Hosts that have ever sent a heartbeat. The latest heartbeat is kept whole
-- (JSON) so the Devices page can show a restarted server's last known state.
-- Never edit a migration that has shipped: add a new one.
CREATE TABLE hosts (
    host_id        TEXT PRIMARY KEY NOT NULL,
    hostname       TEXT NOT NULL DEFAULT '',
    agent_version  TEXT NOT NULL DEFAULT '',
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    last_heartbeat TEXT NOT NULL
) STRICT;
