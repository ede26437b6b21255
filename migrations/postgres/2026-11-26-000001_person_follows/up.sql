-- People following people across servers: a local person following someone on another server
-- (pending until their Accept arrives), and people elsewhere following a local person.
CREATE TABLE person_follows (
    follower_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    -- pending or active
    state TEXT NOT NULL,
    -- The Follow activity, so that an Accept, Reject or Undo naming it finds the row.
    follow_activity_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX person_follows_followee ON person_follows (followee_id);

-- The votes a local person sent, found again by actor and type to be undone by their own id.
CREATE INDEX activities_actor_kind ON activities (actor_ap_id, kind);
