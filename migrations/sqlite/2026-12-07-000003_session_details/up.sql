-- Session details, SQLite spelling; keep in step with migrations/postgres.

-- The browser or app that opened the session, as its User-Agent header named it, so that the
-- account's owner can tell their sessions apart. Cut to 200 characters; NULL when none was sent.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Idle sessions are found and pruned by when they were last used.
CREATE INDEX sessions_last_used ON sessions (last_used_at);
