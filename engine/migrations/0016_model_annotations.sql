-- What MLflow's model registry API keeps about models and versions beyond
-- Trainyard's own registry (0013): descriptions, tags, aliases and MLflow's
-- stage labels (docs/tracking.md, "Model registry"). MLflow sees a model's
-- dev versions named v0001, v0002…, as versions 1, 2…; `version` below is
-- that dev version's name.
CREATE TABLE model_meta (
    model        TEXT    PRIMARY KEY REFERENCES models(name),
    description  TEXT    NOT NULL DEFAULT '',
    updated_ms   INTEGER NOT NULL
);

CREATE TABLE model_tags (
    model  TEXT NOT NULL REFERENCES models(name),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (model, key)
);

-- One row per dev version the MLflow API created or changed.
CREATE TABLE model_version_meta (
    model         TEXT    NOT NULL REFERENCES models(name),
    version       TEXT    NOT NULL,
    -- NULL: the manifest's notes (what it said at registration).
    description   TEXT,
    -- None, Staging, Production or Archived.
    mlflow_stage  TEXT    NOT NULL DEFAULT 'None',
    -- The source URI the client gave (runs:/…, mlflow-artifacts:/…).
    source        TEXT,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (model, version)
);

CREATE TABLE model_version_tags (
    model    TEXT NOT NULL REFERENCES models(name),
    version  TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model, version, key)
);

-- An alias names one dev version; it moves when set again.
CREATE TABLE model_aliases (
    model       TEXT    NOT NULL REFERENCES models(name),
    alias       TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (model, alias)
);
