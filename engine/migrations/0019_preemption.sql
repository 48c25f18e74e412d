-- Preemption and resume (issue 15): attempts that used no retry (preempted
-- ones, and the restart a user's Resume asked for), and while a running job
-- is being stopped to make room, the job it makes room for. Jobs stored
-- before keep 0 and NULL.
ALTER TABLE jobs ADD COLUMN free_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN preempted_for INTEGER;
