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
