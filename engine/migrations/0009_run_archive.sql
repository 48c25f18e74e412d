-- Archived runs (the Projects page's delete, MLflow's delete_run): hidden
-- from the runs table and project counts by default, files kept until
-- `trainyard runs purge --older-than …`. NULL: not archived.
ALTER TABLE jobs ADD COLUMN archived_ms INTEGER;
CREATE INDEX jobs_archived ON jobs(archived_ms) WHERE archived_ms IS NOT NULL;
