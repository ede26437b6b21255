-- The durable inbox, PostgreSQL spelling; keep in step with migrations/sqlite.

-- Every activity delivered to the inbox, stored once its signature was verified and before it
-- is applied. The unique ap_id is the dedupe mark, committed with the stored activity. A worker
-- leases pending rows, applies them and records the verdict (state and code); a transient
-- failure puts the row back as pending with a later next_attempt_at.
CREATE TABLE inbound_activities (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_ap_id TEXT NOT NULL,
    host TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- What the activity is about (an object id), so that activities about one object apply in
    -- the order they arrived.
    object_key TEXT NOT NULL,
    data TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    code TEXT,
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    received_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX inbound_activities_due ON inbound_activities (state, next_attempt_at);
CREATE INDEX inbound_activities_object ON inbound_activities (object_key, id);
CREATE INDEX inbound_activities_finished ON inbound_activities (finished_at);

-- The moderators of communities on other servers, as their own `moderators` collection lists
-- them, fetched from the community's host whenever the Group is. Never taken from an activity.
CREATE TABLE remote_moderators (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    actor_ap_id TEXT NOT NULL,
    PRIMARY KEY (community_id, actor_ap_id)
);
