-- Schedules that create HTTP tasks: a schedule targets either a report (kind, period,
-- recipients) or a task template (queue and request, as JSON), never both.
ALTER TABLE schedules ALTER COLUMN report_kind DROP NOT NULL;
ALTER TABLE schedules ALTER COLUMN period DROP NOT NULL;
ALTER TABLE schedules ALTER COLUMN recipients DROP NOT NULL;
ALTER TABLE schedules ADD COLUMN task_target TEXT;
ALTER TABLE schedules ADD COLUMN last_task_id TEXT;
