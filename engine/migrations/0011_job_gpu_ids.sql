-- The GPU indices a job asked for by `device: [..]` while pinned to a host
-- (JSON array; empty = any free GPUs). Jobs stored before keep '[]'.
ALTER TABLE jobs ADD COLUMN gpu_ids TEXT NOT NULL DEFAULT '[]';
