-- The initial schema, SQLite spelling. Keep it in step with migrations/postgres: same tables,
-- columns and indexes, so every query in cairn-storage is written once for both backends.

-- The instance itself: its Application actor's key pair and display name.
CREATE TABLE site (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Every person we know of, local or remote. Local persons also have a local_users row.
CREATE TABLE persons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    display_name TEXT,
    bio_md TEXT,
    bio_html TEXT,
    ap_id TEXT NOT NULL UNIQUE,
    inbox_url TEXT NOT NULL,
    shared_inbox_url TEXT,
    public_key TEXT NOT NULL,
    private_key TEXT,
    local BOOLEAN NOT NULL,
    bot BOOLEAN NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP,
    last_refreshed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX persons_local_name ON persons (lower(name)) WHERE local = 1;

CREATE TABLE local_users (
    person_id BIGINT PRIMARY KEY REFERENCES persons (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    email TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    approved BOOLEAN NOT NULL DEFAULT 1,
    registration_answer TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX local_users_email ON local_users (lower(email)) WHERE email IS NOT NULL;

-- Bearer tokens are stored as SHA-256 hashes so a database leak does not leak sessions.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);

CREATE TABLE communities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    description_md TEXT,
    description_html TEXT,
    kind TEXT NOT NULL,
    membership TEXT NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    inbox_url TEXT NOT NULL,
    shared_inbox_url TEXT,
    followers_url TEXT,
    public_key TEXT NOT NULL,
    private_key TEXT,
    local BOOLEAN NOT NULL,
    posting_restricted_to_mods BOOLEAN NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP,
    last_refreshed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX communities_local_name ON communities (lower(name)) WHERE local = 1;

-- Membership and roles. state is 'active', 'pending' (waiting for approval or for a remote
-- Accept) or 'invited'; role is 'owner', 'moderator' or 'member'.
CREATE TABLE community_members (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    follow_activity_id TEXT,
    invited_by BIGINT REFERENCES persons (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (community_id, person_id)
);
CREATE INDEX community_members_person ON community_members (person_id);

CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ap_id TEXT NOT NULL UNIQUE,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    creator_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    url TEXT,
    body_md TEXT,
    body_html TEXT,
    post_kind TEXT NOT NULL DEFAULT 'discussion',
    local BOOLEAN NOT NULL,
    score BIGINT NOT NULL DEFAULT 0,
    upvotes BIGINT NOT NULL DEFAULT 0,
    downvotes BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    hot_rank REAL NOT NULL DEFAULT 0,
    locked BOOLEAN NOT NULL DEFAULT 0,
    featured BOOLEAN NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    removed BOOLEAN NOT NULL DEFAULT 0,
    accepted_comment_id BIGINT,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP,
    last_activity_at TIMESTAMP NOT NULL
);
CREATE INDEX posts_community_new ON posts (community_id, published DESC, id DESC);
CREATE INDEX posts_community_hot ON posts (community_id, hot_rank DESC, id DESC);
CREATE INDEX posts_community_top ON posts (community_id, score DESC, id DESC);
CREATE INDEX posts_creator ON posts (creator_id);
CREATE INDEX posts_rank_refresh ON posts (published);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ap_id TEXT NOT NULL UNIQUE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    creator_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    body_md TEXT NOT NULL,
    body_html TEXT NOT NULL,
    path TEXT NOT NULL,
    depth INTEGER NOT NULL,
    local BOOLEAN NOT NULL,
    score BIGINT NOT NULL DEFAULT 0,
    upvotes BIGINT NOT NULL DEFAULT 0,
    downvotes BIGINT NOT NULL DEFAULT 0,
    child_count BIGINT NOT NULL DEFAULT 0,
    distinguished BOOLEAN NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    removed BOOLEAN NOT NULL DEFAULT 0,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP
);
CREATE INDEX comments_post ON comments (post_id, path);
CREATE INDEX comments_creator ON comments (creator_id);

CREATE TABLE post_votes (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    score INTEGER NOT NULL,
    activity_id TEXT,
    published TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, person_id)
);

CREATE TABLE comment_votes (
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    score INTEGER NOT NULL,
    activity_id TEXT,
    published TIMESTAMP NOT NULL,
    PRIMARY KEY (comment_id, person_id)
);
CREATE INDEX comment_votes_post_person ON comment_votes (post_id, person_id);
