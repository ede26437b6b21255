-- Federation state: the durable outbox of domain events, the activities we sent or received,
-- per-inbox delivery work, and what we know of other instances.

-- Domain events written by cairn-core in the same transaction as the change they describe.
-- The federation publisher turns each into activities and deliveries, then marks it processed.
CREATE TABLE outbox_events (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL,
    community_id BIGINT,
    post_id BIGINT,
    comment_id BIGINT,
    target_person_id BIGINT,
    score INTEGER,
    previous_score INTEGER,
    -- The activity an event refers to, such as the Follow that an Accept answers.
    object_ap_id TEXT,
    created_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP
);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE processed_at IS NULL;

-- Activities by id: ours (dereferenceable at their id) and received ones (to drop duplicates).
CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    actor_ap_id TEXT NOT NULL,
    data TEXT NOT NULL,
    local BOOLEAN NOT NULL,
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    published TIMESTAMP NOT NULL
);
CREATE INDEX activities_published ON activities (published);

-- One row per activity and target inbox. Workers lease rows by host, sign, send and either
-- delete them (delivered or permanently refused) or push next_attempt_at back.
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox_url TEXT NOT NULL,
    host TEXT NOT NULL,
    signer_ap_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (activity_id, inbox_url)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, host);

CREATE TABLE instances (
    host TEXT PRIMARY KEY,
    software TEXT,
    version TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_success_at TIMESTAMP,
    last_failure_at TIMESTAMP,
    dead_since TIMESTAMP,
    nodeinfo_fetched_at TIMESTAMP,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);
