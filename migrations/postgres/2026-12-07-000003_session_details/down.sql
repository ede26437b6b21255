DROP INDEX sessions_last_used;
ALTER TABLE sessions DROP COLUMN user_agent;
